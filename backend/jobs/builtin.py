"""Small jobs that ship with the runner: used by the self-test, the benchmarks and the tests."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from backend.jobs.registry import register_job

if TYPE_CHECKING:
    from backend.jobs import JobContext, JobSpec


@register_job("demo.count", title="Count steps (demo)")
def count_job(spec: JobSpec, ctx: JobContext) -> dict:
    """Counts to ``steps`` with a pause per step; exercises progress, metrics and cancel."""
    steps = int(spec.params.get("steps", 10))
    delay = float(spec.params.get("delay", 0.01))
    fail_at = spec.params.get("fail_at")
    total = 0
    for i in range(steps):
        ctx.check_cancelled()
        if fail_at is not None and i == int(fail_at):
            raise RuntimeError(f"demo failure at step {i}")
        time.sleep(delay)
        total += i
        ctx.metric("total", total, step=i)
        ctx.progress((i + 1) / steps, f"step {i + 1}/{steps}")
    return {"steps": steps, "total": total}


@register_job("demo.matmul", title="Matrix products (CPU load)")
def matmul_job(spec: JobSpec, ctx: JobContext) -> dict:
    """Repeated torch matrix products: a real CPU-heavy job for the responsiveness benchmark."""
    import torch

    n = int(spec.params.get("size", 512))
    reps = int(spec.params.get("reps", 20))
    gen = torch.Generator().manual_seed(int(spec.params.get("seed", 0)))
    a = torch.randn(n, n, generator=gen).to(ctx.device)
    b = torch.randn(n, n, generator=gen).to(ctx.device)
    start = time.perf_counter()
    for i in range(reps):
        ctx.check_cancelled()
        a = torch.tanh(a @ b / n**0.5)
        ctx.progress((i + 1) / reps, f"product {i + 1}/{reps}")
    elapsed = time.perf_counter() - start
    flops = 2 * n**3 * reps
    ctx.metric("gflops", flops / elapsed / 1e9)
    return {"size": n, "reps": reps, "seconds": elapsed, "gflops": flops / elapsed / 1e9, "checksum": float(a.sum())}


@register_job("demo.resolve", title="Resolve a model name")
def resolve_job(spec: JobSpec, ctx: JobContext) -> dict:
    """Where ``params.model`` (``zoo:NAME`` or a folder) resolves for this run, through
    ``ctx.resolve_model`` and through the shared resolver called with no context, as code deep
    inside a job calls it: both must find the run's workspace, also in an ``isolate=True`` child."""
    from backend.models.tensors import resolve_model

    name = str(spec.params["model"])
    return {"ctx": str(ctx.resolve_model(name)), "deep": str(resolve_model(name)),
            "workspace": str(ctx.workspace) if ctx.workspace is not None else None}
