"""Jobs ``tts.run`` (one strategy at one budget) and ``tts.sweep`` (strategies x budgets).

Inputs: ``policy`` (model folder or ``zoo:NAME``), ``prm`` (PRM folder, ``zoo:NAME``,
``reference:arithmetic`` or absent), ``data`` (problem file), optional ``out`` (a new folder;
default ``<run_dir>/tts``). Params: the settings of :class:`~backend.tts.params.TTSRunParams` or
:class:`~backend.tts.params.TTSSweepParams` and those of
:class:`~backend.generation.prompting.PromptParams` and
:class:`~backend.scale.params.ExecutorParams`, flat (split by ``parse_job_params``); the problems are
sharded over the executor (``backend.tts.sharded``).

Outputs (written atomically into ``out``): ``result.json`` or ``sweep.json`` (the summary, also
the job's result) and ``details.jsonl`` (one line per strategy, N and problem: candidates with
step scores, budgets, and the search tree for beam search and DVTS), for the panel's drill-down.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from backend.jobs.registry import register_job
from backend.tts.params import S


def _resolve(name: str | None, ctx: Any) -> str | None:
    """A model given as ``zoo:NAME`` becomes its folder here, so a Ray worker needs no workspace."""
    if not name or not str(name).startswith("zoo:"):
        return name
    from backend.models.tensors import resolve_model

    return str(resolve_model(name, ctx.workspace, require_config=False))


def _setup(spec: Any, ctx: Any, cls: type[S]) -> tuple[Any, list, Path, S, Any]:
    """(work for the shards, problems, output folder, the job's settings, executor settings)."""
    from backend.tts.data import load_problems
    from backend.tts.params import parse_job_params
    from backend.tts.sharded import TTSWork

    for key in ("policy", "data"):
        if not spec.inputs.get(key):
            raise ValueError(f"{spec.kind} needs the input '{key}'")
    settings, prompt, ex, engine = parse_job_params(cls, spec.params)
    out = Path(spec.inputs.get("out") or ctx.run_dir / "tts")
    if out.exists() and spec.inputs.get("out"):
        raise FileExistsError(f"output folder {out} already exists; choose another or remove it first")
    problems = load_problems(spec.inputs["data"], limit=settings.limit or None)
    prm = spec.inputs.get("prm")
    if prm and not str(prm).startswith(("zoo:", "reference:")) and not Path(prm).is_dir():
        raise FileNotFoundError(f"PRM folder {prm} does not exist")
    work = TTSWork(str(_resolve(spec.inputs["policy"], ctx)), _resolve(prm, ctx), ctx.device,
                   settings.search_dict(), prompt.to_dict(), problems, engine=engine.worker_dict())
    return work, problems, out, settings, ex


def _execute(work: Any, parts: list, ex: Any, ctx: Any, label: str) -> tuple[list[dict], int]:
    """Run every (piece, problem run) shard on the chosen executor; (pieces in shard order, shard count)."""
    from backend.scale import plan_shards, run_shards
    from backend.scale.executor import resolve_shard_count
    from backend.tts.sharded import tts_shard

    k = resolve_shard_count(ex, len(work.problems))
    shards = plan_shards(len(work.problems), k, parts)
    if ex.executor == "local" and k == 1:
        ctx.progress(0.0, "loading the policy")
    return run_shards(tts_shard, shards, work, ex, ctx, label=label), k


def _write(out: Path, name: str, summary: dict, results: list) -> dict:
    from backend.workspace.atomic import atomic_dir

    with atomic_dir(out, overwrite=False) as tmp:
        (tmp / name).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        with open(tmp / "details.jsonl", "w", encoding="utf-8") as f:
            for r in results:
                f.write(json.dumps(r.to_dict()) + "\n")
    return {"out": str(out), "summary_file": str(out / name), "details_file": str(out / "details.jsonl")}


def _timing(pieces: list[dict], t0: float) -> dict:
    from backend.tts.sharded import sum_stats

    return {"seconds": round(time.perf_counter() - t0, 3),
            "prm_seconds": round(sum(p["prm_seconds"] for p in pieces), 3), "generation": sum_stats(pieces),
            "engine": pieces[0].get("engine", "hf") if pieces else "hf"}


@register_job("tts.run", title="Test-time scaling: one strategy")
def run_job(spec: Any, ctx: Any) -> dict:
    """Run one strategy at budget ``n`` on every problem (sharded over problems)."""
    from backend.tts.params import TTSRunParams
    from backend.tts.sweep import _summary

    work, problems, out, settings, ex = _setup(spec, ctx, TTSRunParams)
    strategy, n = settings.strategy, settings.n
    t0 = time.perf_counter()
    pieces, k = _execute(work, [(f"run:{strategy}", 1.0)], ex, ctx, f"tts {strategy}")
    results = [r for p in pieces for r in p["runs"][strategy][n]]
    summary = {"strategy": strategy, "n": n, **_summary(results), "config": settings.search_dict(),
               "problems": len(problems),
               "answers": [r.answer for r in results], "correct": [r.correct for r in results]}
    summary["timing"] = _timing(pieces, t0)
    summary.update({"prompt": pieces[0]["prompt"] if pieces else {}, **ex.describe_run(k)})
    summary.update(_write(out, "result.json", summary, results))
    if summary["accuracy"] is not None:
        ctx.metric(f"accuracy/{strategy}", summary["accuracy"], step=n)
    ctx.artifact("details", summary["details_file"])
    ctx.progress(1.0, "done")
    return summary


@register_job("tts.sweep", title="Test-time scaling: budget sweep")
def sweep_job(spec: Any, ctx: Any) -> dict:
    """Every strategy at every budget N; curves, per-difficulty accuracy, compute-optimal table."""
    from backend.tts.params import TTSSweepParams
    from backend.tts.sweep import check_sweep, merge_parts, summarize, sweep_parts

    work, problems, out, settings, ex = _setup(spec, ctx, TTSSweepParams)
    strategies = list(settings.strategies)
    ns = check_sweep(None, strategies, settings.ns, has_prm=bool(work.prm))
    work.strategies, work.ns = strategies, ns
    t0 = time.perf_counter()
    pieces, k = _execute(work, sweep_parts(strategies, ns), ex, ctx, "tts sweep")
    runs, pass1 = merge_parts(pieces)
    summary, results = summarize(problems, runs, pass1, ns, settings.thresholds, settings.search_dict())
    for s, by_n in summary["runs"].items():
        for n, e in by_n.items():
            if e["accuracy"] is not None:
                ctx.metric(f"accuracy/{s}", e["accuracy"], step=int(n))
    summary["timing"] = _timing(pieces, t0)
    summary.update({"prompt": pieces[0]["prompt"] if pieces else {}, **ex.describe_run(k)})
    summary.update(_write(out, "sweep.json", summary, results))
    ctx.artifact("details", summary["details_file"])
    ctx.progress(1.0, "sweep done")
    return summary
