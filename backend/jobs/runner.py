"""The runner: executes JobSpecs in worker threads (or subprocesses) and reports their events.

One path for every job: the GUI and the CLI both submit here, and the workspace (when given)
records each run. Subscribers receive events on the job's thread; the GUI bridges them to Qt
signals, the CLI prints them.
"""
from __future__ import annotations

import os
import threading
import traceback
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from backend.devices import resolve_device
from backend.jobs import events as ev
from backend.jobs.context import JobCancelled, JobContext
from backend.jobs.registry import get_job
from backend.jobs.spec import JobSpec

Subscriber = Callable[[ev.JobEvent], None]


class JobHandle:
    """A submitted job: its status, its latest progress and, once done, its result or error."""

    def __init__(self, run_id: str, spec: JobSpec, run_dir: Path) -> None:
        self.run_id = run_id
        self.spec = spec
        self.run_dir = run_dir
        self.status = "queued"
        self.device: str | None = None
        self.progress: float | None = 0.0
        self.message = ""
        self.result: dict | None = None
        self.error: str | None = None
        self.traceback: str | None = None
        self._cancel = threading.Event()
        self._done = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> str:
        """Block until the job ends (or ``timeout`` passes); returns its status."""
        self._done.wait(timeout)
        return self.status


def new_run_id(kind: str) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() else "-" for c in kind)[:24]
    return f"{stamp}-{safe}-{uuid.uuid4().hex[:6]}"


class Runner:
    """Runs jobs in the background with a concurrency limit per device.

    ``device_limits`` maps a concrete device (``cpu``, ``cuda:0``) to how many jobs may run on
    it at once; others get ``default_limit``. Jobs beyond the limit wait in ``queued`` state
    and can be cancelled while they wait.
    """

    def __init__(
        self,
        workspace: Any | None = None,
        device_limits: dict[str, int] | None = None,
        default_limit: int = 1,
        scratch_dir: Path | None = None,
    ) -> None:
        self.workspace = workspace
        self._limits = dict(device_limits or {})
        self._default_limit = default_limit
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._subscribers: list[Subscriber] = []
        self._handles: dict[str, JobHandle] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        if scratch_dir is None and workspace is None:
            import tempfile

            scratch_dir = Path(tempfile.mkdtemp(prefix="benchtop-runs-"))
        self._scratch = scratch_dir

    # -- subscription -----------------------------------------------------------------------
    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    # -- submission -------------------------------------------------------------------------
    def submit(self, spec: JobSpec) -> JobHandle:
        """Queue a job; returns at once. Unknown kinds fail here, before anything is recorded."""
        get_job(spec.kind)
        if self.workspace is not None:
            run_id, run_dir = self.workspace.create_run(spec)
        else:
            run_id = new_run_id(spec.kind)
            assert self._scratch is not None  # __init__ makes one when there is no workspace
            run_dir = self._scratch / run_id
            run_dir.mkdir(parents=True, exist_ok=True)
        handle = JobHandle(run_id, spec, Path(run_dir))
        with self._lock:
            self._handles[run_id] = handle
        self._emit(ev.JobEvent(run_id, ev.QUEUED, {"kind": spec.kind, "label": spec.label}))
        thread = threading.Thread(target=self._execute, args=(handle,), name=f"job-{run_id}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return handle

    def handle(self, run_id: str) -> JobHandle | None:
        with self._lock:
            return self._handles.get(run_id)

    def handles(self) -> list[JobHandle]:
        with self._lock:
            return list(self._handles.values())

    def cancel(self, run_id: str) -> None:
        h = self.handle(run_id)
        if h is not None:
            h.cancel()

    def active(self) -> list[JobHandle]:
        return [h for h in self.handles() if not h.done]

    def shutdown(self, cancel: bool = True, timeout: float = 10.0) -> None:
        """Ask running jobs to stop and wait for them (used when the app quits)."""
        if cancel:
            for h in self.active():
                h.cancel()
        for t in list(self._threads):
            t.join(timeout)

    # -- execution --------------------------------------------------------------------------
    def _semaphore(self, device: str) -> threading.BoundedSemaphore:
        with self._lock:
            if device not in self._semaphores:
                limit = self._limits.get(device, self._default_limit)
                self._semaphores[device] = threading.BoundedSemaphore(max(1, limit))
            return self._semaphores[device]

    def _execute(self, handle: JobHandle) -> None:
        spec = handle.spec
        try:
            device = resolve_device(spec.device)
        except Exception as exc:  # noqa: BLE001 - a bad device fails the run with a clear message
            self._finish(handle, "failed", error=str(exc), tb=traceback.format_exc())
            return
        handle.device = device
        sem = self._semaphore(device)
        if not sem.acquire(blocking=False):
            self._emit(ev.JobEvent(handle.run_id, ev.PROGRESS,
                                   {"fraction": 0.0, "message": f"waiting for a free {device} slot"}))
        else:
            sem.release()
        while not sem.acquire(timeout=0.05):
            if handle.cancel_requested:
                self._finish(handle, "cancelled")
                return
        try:
            if handle.cancel_requested:
                self._finish(handle, "cancelled")
                return
            handle.status = "running"
            self._emit(ev.JobEvent(handle.run_id, ev.STARTED, {"device": device, "pid": os.getpid()}))
            ctx = JobContext(handle.run_id, handle.run_dir, device, self._emit, handle._cancel,
                             workspace=self._workspace_root())
            try:
                if spec.isolate:
                    from backend.jobs.subprocess_worker import run_isolated

                    result = run_isolated(spec, ctx, self._emit)
                else:
                    from backend.models.zoo.store import job_workspace

                    with job_workspace(ctx.workspace):  # zoo:NAME deep inside the job resolves here
                        result = get_job(spec.kind).function(spec, ctx)
            except JobCancelled:
                self._finish(handle, "cancelled")
            except BaseException as exc:  # noqa: BLE001 - every failure becomes a recorded error
                message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                self._finish(handle, "failed", error=message, tb=traceback.format_exc())
            else:
                if handle.cancel_requested and result is None:
                    self._finish(handle, "cancelled")
                else:
                    self._finish(handle, "succeeded", result=result if result is not None else {})
        finally:
            sem.release()

    def _workspace_root(self) -> Path | None:
        root = getattr(self.workspace, "root", None)
        return Path(root) if root is not None else None

    def _finish(
        self, handle: JobHandle, status: str, result: dict | None = None, error: str | None = None,
        tb: str | None = None,
    ) -> None:
        handle.result, handle.error, handle.traceback = result, error, tb
        if status == "succeeded":
            self._emit(ev.JobEvent(handle.run_id, ev.RESULT, {"result": result}))
        elif status == "failed":
            self._emit(ev.JobEvent(handle.run_id, ev.ERROR, {"message": error, "traceback": tb}))
        handle.status = status
        self._emit(ev.JobEvent(handle.run_id, ev.FINISHED, {"status": status}))
        handle._done.set()

    def _emit(self, event: ev.JobEvent) -> None:
        handle = self.handle(event.run_id)
        if handle is not None and event.type == ev.PROGRESS:
            handle.progress = event.data.get("fraction")
            handle.message = event.data.get("message", "")
        if self.workspace is not None:
            try:
                self.workspace.record_event(event)
            except Exception as exc:  # noqa: BLE001 - recording must never kill a job; say so in the log
                self._dispatch(ev.JobEvent(event.run_id, ev.LOG, {"line": f"workspace: could not record event: {exc}"}))
        self._dispatch(event)

    def _dispatch(self, event: ev.JobEvent) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:  # noqa: BLE001 - a broken subscriber must not break the job
                traceback.print_exc()
