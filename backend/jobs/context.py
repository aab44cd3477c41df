"""What a running job sees: where to write, which device and workspace, how to report, whether to stop."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable

from backend.jobs import events as ev


class JobCancelled(Exception):
    """Raised by :meth:`JobContext.check_cancelled`; the runner records the run as cancelled."""


class JobContext:
    """Handed to every job function. All methods are safe to call from the job's thread.

    Progress events are throttled (at most ~20 per second, plus the first and the last) so a
    job may report every step without flooding the GUI.
    """

    def __init__(
        self,
        run_id: str,
        run_dir: Path,
        device: str,
        emit: Callable[[ev.JobEvent], None],
        cancel_flag: Any | None = None,
        workspace: str | Path | None = None,
    ) -> None:
        self.run_id = run_id
        self.run_dir = Path(run_dir)
        self.device = device
        self.workspace = Path(workspace) if workspace is not None else None
        self._emit = emit
        self._cancel = cancel_flag if cancel_flag is not None else threading.Event()
        self._last_progress = 0.0

    # -- reporting ---------------------------------------------------------------------------
    def progress(self, fraction: float | None, message: str = "") -> None:
        now = time.monotonic()
        final = fraction is not None and fraction >= 1.0
        if not final and now - self._last_progress < 0.05:
            return
        self._last_progress = now
        if fraction is not None:
            fraction = min(1.0, max(0.0, float(fraction)))
        self._emit(ev.JobEvent(self.run_id, ev.PROGRESS, {"fraction": fraction, "message": message}))

    def metric(self, name: str, value: float, step: int | float | None = None) -> None:
        self._emit(ev.JobEvent(self.run_id, ev.METRIC, {"name": name, "step": step, "value": float(value)}))

    def log(self, line: str) -> None:
        self._emit(ev.JobEvent(self.run_id, ev.LOG, {"line": str(line)}))

    def artifact(self, name: str, path: str | Path) -> None:
        self._emit(ev.JobEvent(self.run_id, ev.ARTIFACT, {"name": name, "path": str(path)}))

    # -- cancellation ------------------------------------------------------------------------
    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Call between steps: raises JobCancelled once the user asked to stop."""
        if self._cancel.is_set():
            raise JobCancelled()

    # -- what to read -----------------------------------------------------------------------
    def resolve_model(self, name: str | Path, *, require_config: bool = True, what: str = "model") -> Path:
        """The folder of ``zoo:NAME`` (in this run's workspace's zoo) or of a path."""
        from backend.models.tensors import resolve_model

        return resolve_model(name, self.workspace, require_config=require_config, what=what)

    def zoo_data(self, name: str) -> Path:
        """``<zoo>/data/<name>`` of this run's workspace's demo zoo (FileNotFoundError if absent)."""
        from backend.models.zoo import zoo_data_path

        return zoo_data_path(name, workspace_root=self.workspace)

    # -- where to write ----------------------------------------------------------------------
    def path(self, *parts: str) -> Path:
        """A path inside this run's folder (parents created)."""
        p = self.run_dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p
