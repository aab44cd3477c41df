"""The ``ttrl.train`` job: TTRL on an unlabeled prompt set, optionally monitored with labels.

Inputs: ``policy`` (model folder or ``zoo:NAME``), ``prompts`` (unlabeled file), optional
``eval`` (labelled file, monitoring only), optional ``out`` (output folder; default
``<run_dir>/ttrl``). Params: any :class:`~backend.ttrl.config.TTRLConfig`,
:class:`~backend.generation.prompting.PromptParams` or :class:`~backend.scale.params.ExecutorParams`
setting (flat; split by ``backend.ttrl.config.parse_job_params``; the executor shards the rollouts
and the periodic evaluation; the update stays in this process), plus ``resume`` (continue the run
in ``out`` from its latest checkpoint).

Live output: metrics per step through ``ctx.metric`` (series in the workspace), and each
step's rollouts as the artifact ``rollouts`` (a JSON file: per prompt the label, majority
ratio and every sample's text, answer, votes, reward and advantage) for the panel's table.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.jobs.registry import register_job


@register_job("ttrl.train", title="TTRL: RL on unlabeled prompts")
def train_job(spec: Any, ctx: Any) -> dict:
    from backend.scale.params import executor_params
    from backend.ttrl.config import TTRLConfig, parse_job_params
    from backend.ttrl.trainer import train

    params = dict(spec.params)
    resume = bool(params.pop("resume", False))
    inputs = spec.inputs
    out = Path(inputs.get("out") or params.pop("out", None) or ctx.run_dir / "ttrl")
    if resume:
        # settings and files come from the run being resumed; only `steps` may be extended
        from backend.ttrl.checkpoint import read_run_file

        ex, params = executor_params(params)
        steps = params.get("steps") or read_run_file(out)["config"]["steps"]
        return train(None, None, out, TTRLConfig(steps=int(steps)), device=ctx.device, resume=True, ctx=ctx,
                     executor=ex)
    for key in ("policy", "prompts"):
        if not inputs.get(key):
            raise ValueError(f"ttrl.train needs the input '{key}'")
    cfg, prompt, ex = parse_job_params(params)
    return train(inputs["policy"], inputs["prompts"], out, cfg, prompt=prompt, eval_path=inputs.get("eval"),
                 device=ctx.device, ctx=ctx, executor=ex)
