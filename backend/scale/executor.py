"""Run a shard function over shards, in this process or as Ray tasks, and gather the results.

``fn(common, shard) -> result`` must be a module-level function (Ray ships it by reference; the
worker imports ``backend`` like the driver). ``common`` is what every shard needs (paths,
settings, a state dict): under Ray it is put in the object store once and shared.

Results come back in shard order whatever order the shards finished in, so a job that
concatenates them sees the same list under both executors. Progress advances as shards finish
(and within a shard under the local executor); cancel stops the loop locally and cancels every
outstanding Ray task; a failing shard raises :class:`ShardError` naming the shard and the
original error.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from backend.scale import worker
from backend.scale.params import ExecutorParams
from backend.scale.shards import Shard

ShardFn = Callable[[Any, Shard], Any]
POLL_SECONDS = 0.2


class ShardError(RuntimeError):
    """A shard failed; the message names the shard and carries the original error."""

    def __init__(self, shard: Shard, total: int, cause: BaseException) -> None:
        self.shard, self.cause = shard, cause
        super().__init__(f"shard {shard.index + 1}/{total} ({shard.describe()}) failed: "
                         f"{type(cause).__name__}: {cause}")


def resolve_shard_count(params: ExecutorParams, n_items: int) -> int:
    """The shard count a job splits into: ``shards`` when set; otherwise 1 under the local
    executor and one per Ray worker slot (CPUs / cpus_per_shard, or GPUs / gpus_per_shard)."""
    if params.shards:
        return max(1, min(int(params.shards), max(1, n_items)))
    if params.executor == "local":
        return 1
    from backend.scale.ray_runtime import ensure_ray

    res = ensure_ray(params.ray_address).cluster_resources()
    slots = res.get("CPU", 1.0) / params.cpus_per_shard
    if params.gpus_per_shard > 0:
        slots = min(slots, res.get("GPU", 0.0) / params.gpus_per_shard)
    return max(1, min(int(slots), max(1, n_items)))


def run_shards(fn: ShardFn, shards: Sequence[Shard], common: Any, params: ExecutorParams, ctx: Any,
               label: str = "shards") -> list[Any]:
    """Every shard's result, in shard order."""
    if params.executor == "ray":
        return _run_ray(fn, list(shards), common, params, ctx, label)
    if params.executor != "local":
        raise ValueError(f"executor {params.executor!r}: must be local or ray")
    return _run_local(fn, list(shards), common, ctx, label)


def _weights(shards: list[Shard]) -> list[float]:
    total = sum(s.weight for s in shards) or 1.0
    return [s.weight / total for s in shards]


def _run_local(fn: ShardFn, shards: list[Shard], common: Any, ctx: Any, label: str) -> list[Any]:
    from backend.jobs.context import JobCancelled

    weights, out, done = _weights(shards), [], 0.0
    with worker.local_scope(ctx.check_cancelled, None):
        for shard, w in zip(shards, weights):
            ctx.check_cancelled()
            def report(f: float, m: str, a: float = done, w: float = w) -> None:
                ctx.progress(a + w * min(1.0, max(0.0, f)), m)

            worker.set_report(report)
            try:
                out.append(fn(common, shard))
            except JobCancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - one shard of several: name it, keep the cause
                if len(shards) == 1:
                    raise
                raise ShardError(shard, len(shards), exc) from exc
            done += w
            ctx.progress(done, f"{label}: {len(out)}/{len(shards)} done")
    return out


def _ray_entry(fn: ShardFn, common: Any, shard: Shard) -> Any:
    """The Ray task: run one shard in the worker process (its memo outlives the task)."""
    return fn(common, shard)


def _cause(exc: BaseException) -> BaseException:
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def _run_ray(fn: ShardFn, shards: list[Shard], common: Any, params: ExecutorParams, ctx: Any,
             label: str) -> list[Any]:
    from backend.jobs.context import JobCancelled
    from backend.scale.ray_runtime import ensure_ray

    ray = ensure_ray(params.ray_address)
    ctx.progress(0.0, f"{label}: submitting {len(shards)} Ray tasks")
    task = ray.remote(num_cpus=params.cpus_per_shard, num_gpus=params.gpus_per_shard, max_retries=0)(_ray_entry)
    common_ref = ray.put(common)
    fn_ref = ray.put(fn)
    pending = {task.remote(fn_ref, common_ref, s): s for s in shards}
    weights = dict(zip((s.index for s in shards), _weights(shards)))
    results: dict[int, Any] = {}
    done = 0.0
    try:
        while pending:
            if ctx.cancelled:
                raise JobCancelled()
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
            for ref in ready:
                shard = pending.pop(ref)
                try:
                    results[shard.index] = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a RayTaskError wrapping the shard's own error
                    raise ShardError(shard, len(shards), _cause(exc)) from None
                done += weights[shard.index]
                ctx.progress(done, f"{label}: {len(results)}/{len(shards)} done on Ray")
    finally:
        if pending:
            _cancel(ray, list(pending))
    return [results[s.index] for s in shards]


def _cancel(ray: Any, refs: list) -> None:
    """Cancel outstanding tasks and wait briefly for them to stop, so the next job finds the
    workers free (a task inside a long C call stops when it returns to Python)."""
    for ref in refs:
        try:
            ray.cancel(ref, force=False)
        except Exception:  # noqa: BLE001 - already finished or gone: nothing to cancel
            pass
    ray.wait(refs, num_returns=len(refs), timeout=10.0)
