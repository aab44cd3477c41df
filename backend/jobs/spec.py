"""The one description of a job that a panel and the CLI both build."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class JobSpec:
    """What to run: a registered job ``kind``, its parameters, its input paths and its device.

    ``inputs`` names the files or folders the job reads (they are recorded with the run and
    never written to). ``isolate`` runs the job in a subprocess, for work that must be
    killable or must release GPU memory when it ends.
    """

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    isolate: bool = False
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "JobSpec":
        known = {k: data[k] for k in ("kind", "params", "inputs", "device", "isolate", "label") if k in data}
        return cls(**known)
