"""Run shardable work (TTS problems, ProcessBench rows, eval examples) in-process or on Ray.

Torch-free and Ray-free at import: Ray is an optional extra (``pip install benchtop[cluster]``)
imported only when ``executor=ray`` is chosen. See docs/scale.md.
"""
from backend.scale.executor import ShardError, run_shards
from backend.scale.params import ExecutorParams
from backend.scale.shards import Shard, plan_shards

__all__ = ["ExecutorParams", "Shard", "ShardError", "plan_shards", "run_shards"]
