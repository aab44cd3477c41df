"""Jobs: a JobSpec says what to run; the Runner runs it in the background and reports events.

A job is a plain function ``fn(spec, ctx) -> dict`` registered with :func:`register_job`. It
reports through its :class:`JobContext` (progress, metrics, logs, artifacts) and checks
``ctx.check_cancelled()`` between steps; its return value (JSON-serialisable) is the result.
"""
from backend.jobs.context import JobCancelled, JobContext
from backend.jobs.events import JobEvent
from backend.jobs.registry import JobInfo, get_job, list_jobs, register_job
from backend.jobs.runner import JobHandle, Runner
from backend.jobs.spec import JobSpec

__all__ = [
    "JobCancelled", "JobContext", "JobEvent", "JobHandle", "JobInfo", "JobSpec", "Runner",
    "get_job", "list_jobs", "register_job",
]
