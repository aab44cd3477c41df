"""Process reward models: step splitting, discriminative one-pass scoring, GenPRM-shape generative
scoring with sandboxed verification code, aggregation and ProcessBench evaluation.

``load_prm(path, device) -> scorer``; ``scorer.score(problem, steps) -> [p_correct per step]``;
``scorer.score_batch([(problem, steps), ...])``. Heavy modules (torch, transformers) load on use.
"""
from backend.prm.descriptor import PRESETS, read_descriptor
from backend.prm.steps import AGGREGATIONS, aggregate, clean_step, first_error, split_steps


def load_prm(path, device: str = "cpu", dtype: str = "auto", preset: str | None = None, **kwargs):
    from backend.prm.loader import load_prm as _load

    return _load(path, device, dtype=dtype, preset=preset, **kwargs)


__all__ = ["AGGREGATIONS", "PRESETS", "aggregate", "clean_step", "first_error", "load_prm", "read_descriptor",
           "split_steps"]
