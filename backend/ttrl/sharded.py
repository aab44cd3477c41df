"""TTRL's rollouts and periodic evaluation as shards.

Rollouts: the step's prompts cut into whole rollout batches (``cfg.rollout_batch`` prompts, each
batch with its own generator: ``trainer.rollout_batches``); the update stays on the driver, so the
workers get the current weights every step. Evaluation: the held-out problems cut into whole
evaluation chunks (``trainer.eval_chunks``). Either way the state dict is part of the shards'
common data (the Ray executor puts it in the object store once per call), a worker keeps its
model skeleton between calls and loads the new weights into it, and the samples are the same
under any executor and shard count.
"""
from __future__ import annotations

from typing import Any


def _worker_policy(work: dict, cfg: Any) -> tuple[Any, Any]:
    """This process's copy of the policy (built once), holding the shipped weights."""
    import torch

    from backend.scale import worker
    from backend.ttrl.trainer import _load

    model, tok = worker.memo(("ttrl.policy", work["policy"], cfg.dtype, work["device"]),
                             lambda: _load(work["policy"], cfg.dtype, work["device"]))
    with torch.no_grad():
        model.load_state_dict(work["state"])
    return model, tok


def _cpu_state(model: Any) -> dict:
    return {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}


def rollout_shard(work: dict, shard: Any) -> list[Any]:
    """Sample the shard's rollout batches with the shipped weights."""
    from backend.generation.prompting import PromptParams
    from backend.scale import worker
    from backend.ttrl.config import TTRLConfig
    from backend.ttrl.trainer import Prompting, rollout_batches

    cfg = TTRLConfig.from_params(dict(work["config"]))
    model, tok = _worker_policy(work, cfg)
    problems = [work["problems"][i] for i in shard.items]
    prompting = Prompting(tok, model, cfg, PromptParams.from_params(dict(work["prompt"])))
    return rollout_batches(model, tok, problems, work["step"], shard.items[0], cfg, prompting, work["device"],
                           worker.should_stop)


def rollouts_sharded(model: Any, policy_path: Any, problems: list[str], step: int, cfg: Any, prompt: Any,
                     device: str, executor: Any, ctx: Any) -> tuple[list[Any], int]:
    """(the step's rollout batches in order, shard count) sampled on ``executor``."""
    from backend.scale import plan_shards, run_shards
    from backend.scale.executor import resolve_shard_count

    n_batches = -(-len(problems) // cfg.rollout_batch)
    shards = plan_shards(len(problems), resolve_shard_count(executor, n_batches), align=cfg.rollout_batch)
    work = {"policy": str(policy_path), "device": device, "config": cfg.to_dict(), "prompt": prompt.to_dict(),
            "problems": problems, "step": step, "state": _cpu_state(model)}
    pieces = run_shards(rollout_shard, shards, work, executor, _QuietCtx(ctx), "TTRL rollouts")
    return [r for piece in pieces for r in piece], len(pieces)


def eval_shard(work: dict, shard: Any) -> dict[str, list[float]]:
    """Evaluate the shard's chunks with the shipped weights."""
    from backend.generation.prompting import PromptParams
    from backend.scale import worker
    from backend.ttrl.config import TTRLConfig
    from backend.ttrl.trainer import Prompting, eval_chunks

    cfg = TTRLConfig.from_params(dict(work["config"]))
    model, tok = _worker_policy(work, cfg)
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

    state = _cpu_state(model)
    k = resolve_shard_count(executor, -(-len(problems) // EVAL_CHUNK))
    shards = plan_shards(len(problems), k, align=EVAL_CHUNK)
    work = {"policy": str(policy_path), "device": device, "config": cfg.to_dict(), "prompt": prompt.to_dict(),
            "problems": problems, "state": state}
    pieces = run_shards(eval_shard, shards, work, executor, _QuietCtx(ctx), "TTRL eval")
    merged: dict[str, list[float]] = {}
    for piece in pieces:
        for key, values in piece.items():
            merged.setdefault(key, []).extend(values)
    return mean_eval(merged), len(pieces)


class _QuietCtx:
    """The job's context with progress silenced: rollouts and evaluation are moments inside a
    training step, whose own progress line should not jump back and forth."""

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx

    @property
    def cancelled(self) -> bool:
        return bool(getattr(self._ctx, "cancelled", False))

    def check_cancelled(self) -> None:
        self._ctx.check_cancelled()

    def progress(self, fraction: float, message: str = "") -> None:
        pass
