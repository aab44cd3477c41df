"""Jobs of the FoPE lab: ``fope.train``, ``fope.eval`` and ``fope.convert``.

``fope.train`` — inputs ``text`` (file), ``out`` (model folder, default ``<run_dir>/model``);
params :class:`FopeTrainParams` plus optional ``eval_lengths`` (evaluate the saved model on the
same text afterwards, so the panel gets loss and length curves from one run).
``fope.eval`` — inputs ``model``, ``text``; params :class:`FopeEvalParams`.
``fope.convert`` — inputs ``model``, ``out``; params :class:`FopeConvertParams`.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from backend.jobs.registry import register_job

if TYPE_CHECKING:
    from backend.jobs import JobContext, JobSpec


def _need(inputs: dict, *keys: str) -> None:
    for key in keys:
        if not inputs.get(key):
            raise ValueError(f"the job needs the input '{key}'")


@register_job("fope.train", title="FoPE lab: train a tiny LM with one position embedding")
def train_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.positions.settings import FopeEvalParams, FopeTrainParams
    from backend.positions.train import train

    params = dict(spec.params)
    lengths = params.pop("eval_lengths", None)
    p = FopeTrainParams.from_params(params)
    _need(spec.inputs, "text")
    out = Path(spec.inputs.get("out") or ctx.run_dir / "model")
    result = train(spec.inputs["text"], out, p, ctx=_Scaled(ctx, 0.0, 0.85 if lengths else 1.0), device=ctx.device)
    ctx.artifact("model", out)
    if lengths:
        from backend.positions.evaluate import evaluate
        from backend.positions.train import cpu_threads

        e = FopeEvalParams.from_params({"lengths": lengths, "seed": p.seed, "threads": p.threads})
        with cpu_threads(e.threads, ctx.device):
            result["eval"] = evaluate(out, spec.inputs["text"], list(e.lengths), e.windows, e.trials, e.seed,
                                      ctx=_Scaled(ctx, 0.85, 1.0), device=ctx.device)
    ctx.progress(1.0, "done")
    return result


@register_job("fope.eval", title="FoPE lab: perplexity and recall per length")
def eval_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.positions.evaluate import evaluate
    from backend.positions.settings import FopeEvalParams
    from backend.positions.train import cpu_threads

    p = FopeEvalParams.from_params(spec.params)
    _need(spec.inputs, "model", "text")
    with cpu_threads(p.threads, ctx.device):
        return evaluate(spec.inputs["model"], spec.inputs["text"], list(p.lengths), p.windows, p.trials, p.seed,
                        ctx=ctx, device=ctx.device)


@register_job("fope.convert", title="FoPE lab: add FoPE to an HF model")
def convert_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.positions.model import convert
    from backend.positions.settings import FopeConvertParams

    p = FopeConvertParams.from_params(spec.params)
    _need(spec.inputs, "model", "out")
    ctx.progress(0.1, "loading the source model")
    result = convert(spec.inputs["model"], spec.inputs["out"], p.position_config())
    ctx.artifact("model", spec.inputs["out"])
    ctx.progress(1.0, "saved")
    return result


class _Scaled:
    """A JobContext whose progress is mapped into [lo, hi] (train then eval in one run)."""

    def __init__(self, ctx, lo: float, hi: float) -> None:
        self._ctx, self._lo, self._hi = ctx, lo, hi

    def progress(self, fraction, message: str = "") -> None:
        f = None if fraction is None else self._lo + (self._hi - self._lo) * float(fraction)
        self._ctx.progress(f, message)

    def __getattr__(self, name):
        return getattr(self._ctx, name)
