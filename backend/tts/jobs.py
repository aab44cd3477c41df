"""Jobs ``tts.run`` (one strategy at one budget) and ``tts.sweep`` (strategies x budgets).

Inputs: ``policy`` (model folder or ``zoo:NAME``), ``prm`` (PRM folder, ``zoo:NAME``,
``reference:arithmetic`` or absent), ``data`` (problem file), optional ``out`` (a new folder;
default ``<run_dir>/tts``). Params: the settings of :class:`~backend.tts.params.TTSRunParams` or
:class:`~backend.tts.params.TTSSweepParams` and those of
:class:`~backend.generation.prompting.PromptParams`, flat (split by ``parse_params``).

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
from backend.tts.params import TTSParams


def _setup(spec: Any, ctx: Any, cls: type[TTSParams]) -> tuple[Any, list, Path, Any]:
    from backend.generation.policy import Policy
    from backend.tts.data import load_problems
    from backend.tts.params import parse_params
    from backend.tts.scoring import load_scorer
    from backend.tts.strategies import Searcher

    for key in ("policy", "data"):
        if not spec.inputs.get(key):
            raise ValueError(f"{spec.kind} needs the input '{key}'")
    settings, prompt = parse_params(cls, spec.params)
    out = Path(spec.inputs.get("out") or ctx.run_dir / "tts")
    if out.exists() and spec.inputs.get("out"):
        raise FileExistsError(f"output folder {out} already exists; choose another or remove it first")
    problems = load_problems(spec.inputs["data"], limit=settings.limit or None)
    ctx.progress(0.0, "loading the policy")
    policy = Policy.load(spec.inputs["policy"], ctx.device, settings.dtype)
    scorer = load_scorer(spec.inputs.get("prm"), ctx.device, preset=settings.preset())
    searcher = Searcher(policy, scorer, settings, should_stop=ctx.check_cancelled, prompt=prompt)
    return searcher, problems, out, settings


def _write(out: Path, name: str, summary: dict, results: list) -> dict:
    from backend.workspace.atomic import atomic_dir

    with atomic_dir(out, overwrite=False) as tmp:
        (tmp / name).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        with open(tmp / "details.jsonl", "w", encoding="utf-8") as f:
            for r in results:
                f.write(json.dumps(r.to_dict()) + "\n")
    return {"out": str(out), "summary_file": str(out / name), "details_file": str(out / "details.jsonl")}


def _prompt_record(searcher: Any, problems: list) -> dict:
    """The resolved prompt settings and the first problem's prompt as the policy saw it."""
    return {**searcher.rp.to_dict(), "example": searcher.prompt(problems[0]) if problems else ""}


def _timing(searcher: Any, t0: float) -> dict:
    st = searcher.policy.stats
    return {"seconds": round(time.perf_counter() - t0, 3), "prm_seconds": round(searcher.prm_seconds, 3),
            "generation": st.to_dict()}


@register_job("tts.run", title="Test-time scaling: one strategy")
def run_job(spec: Any, ctx: Any) -> dict:
    """Run one strategy at budget ``n`` on every problem."""
    from backend.tts.params import TTSRunParams
    from backend.tts.sweep import _summary

    searcher, problems, out, settings = _setup(spec, ctx, TTSRunParams)
    strategy = settings.strategy
    t0 = time.perf_counter()
    results = searcher.run(strategy, problems, progress=lambda f, m: ctx.progress(f, m))
    summary = {"strategy": strategy, "n": searcher.cfg.n, **_summary(results), "config": settings.search_dict(),
               "prompt": _prompt_record(searcher, problems), "problems": len(problems),
               "answers": [r.answer for r in results], "correct": [r.correct for r in results]}
    summary["timing"] = _timing(searcher, t0)
    summary.update(_write(out, "result.json", summary, results))
    if summary["accuracy"] is not None:
        ctx.metric(f"accuracy/{strategy}", summary["accuracy"], step=searcher.cfg.n)
    ctx.artifact("details", summary["details_file"])
    ctx.progress(1.0, "done")
    return summary


@register_job("tts.sweep", title="Test-time scaling: budget sweep")
def sweep_job(spec: Any, ctx: Any) -> dict:
    """Every strategy at every budget N; curves, per-difficulty accuracy, compute-optimal table."""
    from backend.tts.params import TTSSweepParams
    from backend.tts.sweep import run_sweep

    searcher, problems, out, settings = _setup(spec, ctx, TTSSweepParams)
    t0 = time.perf_counter()
    summary, results = run_sweep(searcher, problems, settings.strategies, settings.ns, settings.thresholds,
                                 progress=lambda f, m: ctx.progress(f, m))
    for s, by_n in summary["runs"].items():
        for n, e in by_n.items():
            if e["accuracy"] is not None:
                ctx.metric(f"accuracy/{s}", e["accuracy"], step=int(n))
    summary["timing"] = _timing(searcher, t0)
    summary["prompt"] = _prompt_record(searcher, problems)
    summary.update(_write(out, "sweep.json", summary, results))
    ctx.artifact("details", summary["details_file"])
    return summary
