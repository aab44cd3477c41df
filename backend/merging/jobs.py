"""Jobs: ``merging.merge`` (a mergekit-style config), ``merging.tswitch`` (packed switches),
``merging.eval`` (per-task accuracy), ``merging.study`` (the panel's merge-and-compare) and
``merging.autoswitch``. Settings are the classes of ``backend/merging/params.py``; ``zoo:NAME``
inputs resolve in the run's workspace. Heavy imports stay inside the functions."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from backend.jobs import register_job
from backend.merging.params import (
    TSWITCH,
    AutoSwitchParams,
    MergeEvalParams,
    MergeRunParams,
    MergeStudyParams,
    TSwitchParams,
)

if TYPE_CHECKING:
    from backend.jobs import JobContext, JobSpec


@register_job("merging.merge", title="Merge models")
def merge_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.merging.config import parse_config
    from backend.merging.merge import run_merge

    # the config is an input (older records kept it, and its source, among the params)
    raw = spec.inputs.get("config", spec.params.get("config"))
    source = spec.inputs.get("source", spec.params.get("source", "config"))
    p = MergeRunParams.from_params({k: v for k, v in spec.params.items() if k not in ("config", "source")})
    cfg = parse_config(raw, source)
    out = Path(spec.inputs.get("out") or ctx.path("merged"))
    ctx.log(f"{cfg.merge_method} merge of {len(cfg.models)} model(s) into {out}")
    res = run_merge(cfg, out, progress=ctx.progress, cancel=ctx.check_cancelled, seed=p.seed)
    ctx.artifact("model", out)
    ctx.metric("params_per_s", res["params_per_s"])
    return res


@register_job("merging.tswitch", title="Build T-Switch switches")
def tswitch_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.merging.tswitch import build_tswitch

    p = TSwitchParams.from_params(spec.params)
    base = ctx.resolve_model(spec.inputs["base"])
    fts = {t: ctx.resolve_model(f) for t, f in spec.inputs["finetunes"].items()}
    out = Path(spec.inputs.get("out") or ctx.path("tswitch"))
    drop, knob = p.drop, p.knob
    ctx.log(f"T-Switch at drop {drop} (knob per {knob}) for {', '.join(fts)} into {out}")
    info = build_tswitch(base, fts, drop, out, progress=ctx.progress, cancel=ctx.check_cancelled, knob=knob)
    ctx.artifact("tswitch", out)
    for t, d in info["tasks"].items():
        ctx.metric(f"{t}/pct_of_fp32", d["pct_of_fp32"])
    return {"out": str(out), "drop": drop, "knob": knob, "params": info["params"], "dtype": info["dtype"],
            "tasks": {t: {k: v for k, v in d.items() if k != "per_tensor_density"} for t, d in info["tasks"].items()}}


@register_job("merging.eval", title="Per-task accuracy")
def eval_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.compression.evaluate import load_examples
    from backend.merging.evaluation import task_files
    from backend.merging.sharded_eval import blocks, eval_shard, gather
    from backend.scale import plan_shards, run_shards
    from backend.scale.executor import resolve_shard_count
    from backend.scale.params import executor_params

    ex, rest = executor_params(dict(spec.params))
    p = MergeEvalParams.from_params({k: v for k, v in rest.items() if k != "prompt"})
    model = ctx.resolve_model(spec.inputs["model"])
    files = task_files(list(p.tasks))
    ctx.progress(0.0, f"evaluating {model.name} on {', '.join(files)}")
    rows = {t: load_examples(f, p.limit) for t, f in files.items()}
    cut = blocks(rows)                 # whole evaluation batches: the unit a shard takes
    work = {"model": str(model), "device": ctx.device, "prompt": rest.get("prompt") or {},
            "max_new_tokens": p.max_new_tokens, "rows": rows, "blocks": cut}
    k = resolve_shard_count(ex, len(cut))
    pieces = run_shards(eval_shard, plan_shards(len(cut), k), work, ex, ctx, "merge-eval")
    stats = gather(list(files), pieces)
    acc = {t: s["accuracy"] for t, s in stats.items()}
    for t, a in acc.items():
        ctx.metric(f"acc/{t}", a)
    ctx.progress(1.0, "done")
    prompt = next(iter(stats.values()))["prompt"] if stats else {}
    return {"model": str(model), "accuracy": acc, "mean": sum(acc.values()) / max(1, len(acc)),
            "stats": {t: {k: s[k] for k in ("n", "correct", "ci95")} for t, s in stats.items()}, "prompt": prompt,
            **ex.describe_run(len(pieces))}


@register_job("merging.tswitch_apply", title="Build a model from T-Switch switches")
def tswitch_apply_job(spec: JobSpec, ctx: JobContext) -> dict:
    """inputs: base, tswitch (folder), out; params: weights {task: w}."""
    from backend.merging.tswitch import apply_tswitch
    from backend.models.zoo import resolve_model as resolve

    out = Path(spec.inputs.get("out") or ctx.path("model"))
    weights = {str(t): float(w) for t, w in dict(spec.params["weights"]).items()}
    res = apply_tswitch(resolve(spec.inputs["base"]), spec.inputs["tswitch"], weights, out, progress=ctx.progress)
    ctx.artifact("model", out)
    return res


@register_job("merging.study", title="Merge and compare")
def study_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.merging.study import run_study
    from backend.scale.params import executor_params

    ex, rest = executor_params(dict(spec.params))
    p = MergeStudyParams.from_record(rest)
    out = Path(spec.inputs.get("out") or ctx.path("result"))
    res = run_study(str(ctx.resolve_model(spec.inputs["base"])),
                    {t: str(ctx.resolve_model(f)) for t, f in dict(spec.inputs["finetunes"]).items()},
                    p.method, p.method_params(), out, progress=ctx.progress, cancel=ctx.check_cancelled,
                    limit=p.limit, extra_evals=spec.inputs.get("evals"), executor=ex, device=ctx.device)
    ctx.artifact("tswitch" if p.method == TSWITCH else "model", out)
    for label, accs in res["accuracy"].items():
        if accs:
            ctx.metric(f"mean_acc/{label}", sum(accs.values()) / len(accs))
    return res


@register_job("merging.autoswitch", title="Auto-Switch a prompt")
def autoswitch_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.merging.study import autoswitch_answer

    p = AutoSwitchParams.from_params(spec.params)
    ctx.progress(0.1, "routing the prompt")
    res = autoswitch_answer(spec.inputs["base"], spec.inputs["tswitch"], p.prompt, k=p.k, hard=p.hard)
    ctx.progress(1.0, "done")
    return res
