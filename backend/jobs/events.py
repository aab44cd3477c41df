"""Events a running job emits; plain data so they cross threads, processes and Qt signals."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

# Event types, in the order a run normally produces them.
QUEUED = "queued"
STARTED = "started"
PROGRESS = "progress"      # data: fraction (0..1 or None), message
METRIC = "metric"          # data: name, step, value
LOG = "log"                # data: line
ARTIFACT = "artifact"      # data: name, path
RESULT = "result"          # data: result
ERROR = "error"            # data: message, traceback
FINISHED = "finished"      # data: status (succeeded | failed | cancelled)

TERMINAL_STATUSES = ("succeeded", "failed", "cancelled", "interrupted")


@dataclass(frozen=True)
class JobEvent:
    run_id: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)
