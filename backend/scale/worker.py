"""What code running inside a shard may use, the same under both executors.

``memo`` keeps heavy objects (a loaded policy, a PRM) for the life of the process: a Ray
worker loads a model once and reuses it for every later shard, not once per shard. Under the
local executor the memo is scoped to one job (so the app does not hold models after a run).
``should_stop`` and ``report`` reach the job's context under the local executor and are
no-ops in a Ray task (Ray cancels by interrupting the task; progress comes from finished shards).
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator

_process_memo: dict[Any, Any] = {}
_local = threading.local()


def memo(key: Any, build: Callable[[], Any]) -> Any:
    """``build()`` once per key (per job locally, per process in a Ray worker)."""
    store = getattr(_local, "memo", None)
    if store is None:
        store = _process_memo
    if key not in store:
        store[key] = build()
    return store[key]


def should_stop() -> None:
    """Raise the job's cancellation when the user asked to stop (local executor only)."""
    check = getattr(_local, "check", None)
    if check is not None:
        check()


def report(fraction: float, message: str = "") -> None:
    """Progress within the current shard, 0..1 (local executor only)."""
    cb = getattr(_local, "report", None)
    if cb is not None:
        cb(fraction, message)


@contextlib.contextmanager
def local_scope(check: Callable[[], None] | None,
                report_cb: Callable[[float, str], None] | None) -> Iterator[dict]:
    """A job-scoped memo and the job's cancel/progress hooks, for the local executor's thread."""
    saved = (getattr(_local, "memo", None), getattr(_local, "check", None), getattr(_local, "report", None))
    store: dict[Any, Any] = {}
    _local.memo, _local.check, _local.report = store, check, report_cb
    try:
        yield store
    finally:
        _local.memo, _local.check, _local.report = saved
        store.clear()


def set_report(cb: Callable[[float, str], None] | None) -> None:
    """Point :func:`report` at the current shard's slice of the job's progress."""
    _local.report = cb
