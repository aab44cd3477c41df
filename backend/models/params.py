"""Settings of the ``zoo.build`` job, read by the job, ``zoo build`` and the Home panel."""
from __future__ import annotations

from dataclasses import dataclass

from backend.models.zoo.store import PROFILES
from backend.params import Params, param


@dataclass
class ZooBuildParams(Params):
    """Build (or reuse) the arithmetic demo zoo: tiny real models trained on this machine."""

    label = "zoo"
    profile: str = param("demo", title="Profile", choices=PROFILES,
                         help="tiny (seconds, for tests) or demo (a few minutes on a CPU)")
    seed: int = param(0, title="Seed", min=0, help="random seed of the data and the training", advanced=True)
    force: bool = param(False, title="Rebuild", help="rebuild even when a complete zoo exists", advanced=True)
