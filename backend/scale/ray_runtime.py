"""Starting or joining Ray once per process, and reading what the cluster offers.

Ray is optional: :func:`import_ray` turns its absence into one clear line. A local Ray is
started small (no dashboard, a small object store, CPUs capped, worker logs kept out of the
driver's output) and reused by every later job of the process, also when the first job ran on
the runner's worker thread.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any

MISSING = "executor=ray needs Ray, which is not installed: pip install benchtop[cluster]"
LOCAL_MAX_CPUS = 8
OBJECT_STORE_BYTES = 128 * 1024 * 1024

CHILD_ENV = "BENCHTOP_RAY_ADDRESS"   # set after starting a local Ray: an isolate=True child job joins it

_lock = threading.Lock()
_state: dict[str, Any] = {"address": None, "startup_seconds": None}


class RayMissing(ValueError):
    """Ray is not importable (the ``cluster`` extra is not installed)."""


def import_ray() -> Any:
    """The ``ray`` module, or :class:`RayMissing` with the install line."""
    try:
        import ray
    except ImportError:
        raise RayMissing(MISSING) from None
    return ray


def ray_available() -> bool:
    try:
        import_ray()
    except RayMissing:
        return False
    return True


def ensure_ray(address: str = "") -> Any:
    """Ray, initialised: ``address`` empty starts a local Ray (first call only), ``auto`` or
    ``ray://HOST:PORT`` joins a cluster. A process keeps the Ray it started first; asking for
    another address later is refused rather than silently ignored."""
    ray = import_ray()
    want = address or "local"
    with _lock:
        if ray.is_initialized():
            have = _state["address"] or "local"
            if want != have and address not in ("", "auto"):
                raise ValueError(f"Ray is already connected to {have} in this process; restart to use {want}")
            return ray
        t0 = time.perf_counter()
        inherited = "" if address else os.environ.get(CHILD_ENV, "")
        if address or inherited:
            ray.init(address=address or inherited, log_to_driver=False, configure_logging=False)
        else:
            ray.init(num_cpus=min(os.cpu_count() or 1, LOCAL_MAX_CPUS), include_dashboard=False,
                     object_store_memory=OBJECT_STORE_BYTES, log_to_driver=False, configure_logging=False)
            os.environ[CHILD_ENV] = ray.get_runtime_context().gcs_address
        _state.update(address=want, startup_seconds=time.perf_counter() - t0)
    return ray


def shutdown() -> None:
    """Stop this process's Ray (tests; the process's exit does it otherwise)."""
    ray = import_ray()
    with _lock:
        if ray.is_initialized():
            ray.shutdown()
        os.environ.pop(CHILD_ENV, None)
        _state.update(address=None, startup_seconds=None)


def startup_seconds() -> float | None:
    """How long this process's ``ray.init`` took (None before it ran)."""
    return _state["startup_seconds"]


def cluster_summary(address: str = "") -> dict:
    """{"cpus", "gpus", "nodes", "address"} of the cluster (starting a local Ray if needed)."""
    ray = ensure_ray(address)
    res = ray.cluster_resources()
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    return {"cpus": float(res.get("CPU", 0.0)), "gpus": float(res.get("GPU", 0.0)), "nodes": len(nodes),
            "address": _state["address"] or "local"}
