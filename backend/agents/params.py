"""Settings of the ``replay.export`` job, read by the job, ``replay export`` and the replay panel."""
from __future__ import annotations

from dataclasses import dataclass

from backend.params import Params, param


@dataclass
class ReplayExportParams(Params):
    """Write a self-contained HTML report of one agent run."""

    label = "replay export"
    images: str = param("embed", title="Screenshots", choices=("embed", "copy", "none"),
                        help="embed screenshots as base64, copy them into OUT_files/, or leave them out")
