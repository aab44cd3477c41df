"""TTRL's periodic evaluation as shards: the held-out problems cut into whole evaluation chunks.

The current policy weights go to the workers once per evaluation (the state dict is part of
the shards' common data, which the Ray executor puts in the object store once); a worker keeps
its model skeleton between evaluations and loads the new weights into it. Each chunk samples
from its own generator (``trainer.eval_chunks``), so the figures are the same under any
executor and shard count.

Rollouts are not sharded: they feed the very next update, and their one batch generator makes
them depend on the whole batch (docs/scale.md).
"""
from __future__ import annotations

from typing import Any


def eval_shard(work: dict, shard: Any) -> dict[str, list[float]]:
    """Evaluate the shard's chunks with the shipped weights."""
    import torch

    from backend.generation.prompting import PromptParams
    from backend.scale import worker
    from backend.ttrl.config import TTRLConfig
    from backend.ttrl.trainer import Prompting, _load, eval_chunks

    cfg = TTRLConfig.from_params(dict(work["config"]))
    model, tok = worker.memo(("ttrl.eval", work["policy"], cfg.dtype, work["device"]),
                             lambda: _load(work["policy"], cfg.dtype, work["device"]))
    with torch.no_grad():
        model.load_state_dict(work["state"])
    problems = [work["problems"][i] for i in shard.items]
    return eval_chunks(model, tok, problems, cfg, shard.items[0], work["device"], worker.should_stop,
                       Prompting(tok, model, cfg, PromptParams.from_params(dict(work["prompt"]))))


def evaluate_sharded(model: Any, policy_path: Any, problems: list, cfg: Any, prompt: Any, device: str,
                     executor: Any, ctx: Any) -> tuple[dict[str, float], int]:
    """(pass@1, maj@N and no-answer share over ``problems``, shard count) on ``executor``; the
    workers build their prompts from the run's validated prompt settings (``prompt``)."""
    from backend.scale import plan_shards, run_shards
    from backend.scale.executor import resolve_shard_count
    from backend.ttrl.trainer import EVAL_CHUNK, mean_eval

    state = {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}
    k = resolve_shard_count(executor, -(-len(problems) // EVAL_CHUNK))
    shards = plan_shards(len(problems), k, align=EVAL_CHUNK)
    work = {"policy": str(policy_path), "device": device, "config": cfg.to_dict(), "prompt": prompt.to_dict(),
            "problems": problems, "state": state}
    pieces = run_shards(eval_shard, shards, work, executor, _EvalCtx(ctx), "TTRL eval")
    merged: dict[str, list[float]] = {}
    for piece in pieces:
        for key, values in piece.items():
            merged.setdefault(key, []).extend(values)
    return mean_eval(merged), len(pieces)


class _EvalCtx:
    """The job's context with progress silenced: the evaluation is a moment inside a training step,
    whose own progress line should not jump back and forth."""

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx

    @property
    def cancelled(self) -> bool:
        return bool(getattr(self._ctx, "cancelled", False))

    def check_cancelled(self) -> None:
        self._ctx.check_cancelled()

    def progress(self, fraction: float, message: str = "") -> None:
        pass
