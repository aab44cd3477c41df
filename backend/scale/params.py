"""Where a shardable job runs: the executor settings shared by TTS, ProcessBench, merge-eval and TTRL."""
from __future__ import annotations

from dataclasses import dataclass

from backend.params import Params, param


@dataclass
class ExecutorParams(Params):
    """Where the shards of a job run. ``local`` runs them in this process, one after another;
    ``ray`` runs each as a Ray task (a local Ray started on demand, or a cluster). The same seed
    gives the same figures whatever the executor and shard count (docs/scale.md)."""

    label = "executor"
    executor: str = param("local", title="Executor", choices=("local", "ray"),
                          help="local: in this process; ray: Ray tasks (pip install benchtop[cluster])")
    ray_address: str = param("", title="Ray address",
                             help="empty: start a local Ray; 'auto' or ray://HOST:PORT: join a running cluster")
    shards: int = param(0, title="Shards", min=0, max=100000,
                        help="pieces the work is split into (0: one per available Ray worker; 1 with local)")
    cpus_per_shard: float = param(1.0, title="CPUs per shard", min=0.0, min_exclusive=True, advanced=True,
                                  help="CPUs each Ray task reserves")
    gpus_per_shard: float = param(0.0, title="GPUs per shard", min=0.0, advanced=True,
                                  help="GPUs each Ray task reserves (fractions share a GPU)")

    def describe_run(self, shards: int) -> dict:
        """What a run's result records about where it ran."""
        out = {"executor": self.executor, "shards": int(shards)}
        if self.executor == "ray":
            out["ray_address"] = self.ray_address or "local"
        return out


def executor_params(params: dict) -> tuple[ExecutorParams, dict]:
    """Split a job's params into (ExecutorParams, the remaining params): the executor keys are
    optional in every job's params, so jobs that predate them keep working."""
    names = set(ExecutorParams.defaults())
    mine = {k: v for k, v in params.items() if k in names}
    rest = {k: v for k, v in params.items() if k not in names}
    return ExecutorParams.from_params(mine), rest
