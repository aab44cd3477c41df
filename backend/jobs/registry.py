"""Job kinds by name. Packages register theirs in ``backend/<package>/jobs.py``.

Those modules are found on first look-up (not at import), so the GUI starts without importing
every method; they must keep heavy imports (torch, transformers) inside the job functions.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

JobFunction = Callable[[Any, Any], dict]


@dataclass(frozen=True)
class JobInfo:
    kind: str
    function: JobFunction
    title: str
    module: str


_JOBS: dict[str, JobInfo] = {}
_discovered = False


def register_job(kind: str, title: str = "") -> Callable[[JobFunction], JobFunction]:
    """Decorator: make ``fn(spec, ctx) -> dict`` runnable as ``JobSpec(kind=...)``."""

    def decorate(fn: JobFunction) -> JobFunction:
        if kind in _JOBS and _JOBS[kind].function is not fn:
            existing = _JOBS[kind].module
            if existing != fn.__module__:
                raise ValueError(f"job kind {kind!r} registered twice ({existing} and {fn.__module__})")
        _JOBS[kind] = JobInfo(kind, fn, title or kind, fn.__module__)
        return fn

    return decorate


def discover() -> None:
    """Import ``backend.<pkg>.jobs`` for every backend package (once)."""
    global _discovered
    if _discovered:
        return
    import backend

    importlib.import_module("backend.jobs.builtin")
    for info in pkgutil.iter_modules(backend.__path__):
        if not info.ispkg or info.name == "jobs":
            continue
        try:
            spec = importlib.util.find_spec(f"backend.{info.name}.jobs")
        except ModuleNotFoundError:
            spec = None
        if spec is not None:
            importlib.import_module(f"backend.{info.name}.jobs")
    _discovered = True


def get_job(kind: str) -> JobInfo:
    if kind not in _JOBS:
        discover()
    if kind not in _JOBS:
        known = ", ".join(sorted(_JOBS)) or "none"
        raise KeyError(f"unknown job kind {kind!r} (known: {known})")
    return _JOBS[kind]


def list_jobs() -> list[JobInfo]:
    discover()
    return sorted(_JOBS.values(), key=lambda j: j.kind)
