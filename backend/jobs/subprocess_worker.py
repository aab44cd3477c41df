"""Running a job in a child process: for work that must be killable or must free its memory.

The child rebuilds the JobSpec, runs the registered function and sends every event back through
a queue. Cancel first asks politely (the child's JobContext sees the flag); a child that does not
stop within the grace period is terminated.
"""
from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
import time
from pathlib import Path
from typing import Any, Callable

from backend.jobs import events as ev
from backend.jobs.context import JobCancelled, JobContext
from backend.jobs.spec import JobSpec

GRACE_SECONDS = 3.0


def _child_main(spec_dict: dict, run_id: str, run_dir: str, device: str, q: Any, cancel: Any,
                workspace: str | None = None) -> None:
    import traceback

    from backend.jobs.registry import get_job
    from backend.models.zoo.store import job_workspace

    spec = JobSpec.from_dict(spec_dict)
    ctx = JobContext(run_id, Path(run_dir), device, q.put, cancel, workspace=workspace)
    try:
        with job_workspace(ctx.workspace):  # the parent's workspace: a spawned child has no other way to know it
            result = get_job(spec.kind).function(spec, ctx)
        q.put(("result", result))
    except JobCancelled:
        q.put(("cancelled", None))
    except BaseException as exc:  # noqa: BLE001
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        q.put(("error", (message, traceback.format_exc())))


class IsolatedJobError(RuntimeError):
    def __init__(self, message: str, tb: str) -> None:
        super().__init__(message)
        self.child_traceback = tb


def run_isolated(spec: JobSpec, ctx: JobContext, emit: Callable[[ev.JobEvent], None]) -> dict:
    mpctx = mp.get_context("spawn")
    q = mpctx.Queue()
    cancel = mpctx.Event()
    proc = mpctx.Process(
        target=_child_main,
        args=(spec.to_dict(), ctx.run_id, str(ctx.run_dir), ctx.device, q, cancel,
              str(ctx.workspace) if ctx.workspace is not None else None),
        daemon=True,
    )
    proc.start()
    cancel_sent_at: float | None = None
    outcome: tuple[str, Any] | None = None
    while True:
        if ctx.cancelled and cancel_sent_at is None:
            cancel.set()
            cancel_sent_at = time.monotonic()
        if cancel_sent_at is not None and time.monotonic() - cancel_sent_at > GRACE_SECONDS and proc.is_alive():
            proc.terminate()
            proc.join(2)
            raise JobCancelled()
        try:
            item = q.get(timeout=0.05)
        except queue_mod.Empty:
            if not proc.is_alive():
                # drain anything left, then judge the exit
                try:
                    item = q.get(timeout=0.2)
                except queue_mod.Empty:
                    break
            else:
                continue
        if isinstance(item, ev.JobEvent):
            emit(item)
        else:
            outcome = item
            break
    proc.join(5)
    if outcome is None:
        if cancel_sent_at is not None:
            raise JobCancelled()
        raise RuntimeError(f"the job's worker process exited with code {proc.exitcode} before reporting a result")
    tag, payload = outcome
    if tag == "result":
        return payload
    if tag == "cancelled":
        raise JobCancelled()
    message, tb = payload
    raise IsolatedJobError(message, tb)
