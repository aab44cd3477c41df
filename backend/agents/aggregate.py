"""Scores of a run, the way each benchmark reports them and the honest way.

* ScienceBoard's "Overall" is the unweighted mean of the per-domain success rates (macro);
* solved/total counts every task, crashed and skipped ones included (OSWorld's
  ``show_result.py`` divides by finished tasks only, which inflated rates: OSWorld issue #279);
  the finished-only rate is reported too, labelled, for comparison with such numbers;
* partial scores (OSWorld metrics are floats) count as solved only at 1.0; ``mean_score``
  averages the raw scores with unfinished tasks as 0.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Iterable

from backend.agents.model import STATUSES, Run, Task

DIFFICULTY = {5: "easy", 10: "medium", 15: "hard", 20: "open"}


def difficulty(budget: int | None, fmt: str = "scienceboard") -> str:
    """ScienceBoard's step budget is its difficulty split (5/10/15/20 steps); elsewhere (OSWorld's
    one ``max_steps`` for all tasks) the budget is only a budget, so it is named as such."""
    if budget is None:
        return "unknown"
    if fmt != "scienceboard":
        return f"{budget} steps"
    return DIFFICULTY.get(int(budget), f"{budget} steps")


def _group(tasks: list[Task]) -> dict[str, Any]:
    counts = {s: 0 for s in STATUSES}
    score_sum = 0.0
    for t in tasks:
        counts[t.status] += 1
        if t.status in ("pass", "partial", "fail"):
            score_sum += max(0.0, min(1.0, t.score or 0.0))
    total = len(tasks)
    finished = counts["pass"] + counts["partial"] + counts["fail"]
    return {
        "total": total, **counts, "finished": finished,
        "solved_rate": counts["pass"] / total if total else None,
        "mean_score": score_sum / total if total else None,
        "finished_rate": counts["pass"] / finished if finished else None,
    }


def task_row(t: Task) -> dict[str, Any]:
    return {"key": t.key, "domain": t.domain, "task": t.task_id, "status": t.status, "score": t.score,
            "steps": len(t.steps), "budget": t.budget, "difficulty": difficulty(t.budget, t.format),
            "stop": t.stop_type, "crash": t.crash, "problems": len(t.problems)}


def aggregate(run: Run) -> dict[str, Any]:
    """Every number the summary, the panel and the report show, as plain JSON-able data."""
    by_domain: dict[str, list[Task]] = defaultdict(list)
    by_budget: dict[Any, list[Task]] = defaultdict(list)
    for t in run.tasks:
        by_domain[t.domain].append(t)
        by_budget[t.budget].append(t)
    domains = [{"domain": d, **_group(ts)} for d, ts in sorted(by_domain.items())]
    rates = [d["solved_rate"] for d in domains if d["solved_rate"] is not None]
    overall = _group(run.tasks)
    overall["macro_rate"] = sum(rates) / len(rates) if rates else None
    diffs = [{"difficulty": difficulty(b, run.format), "budget": b, **_group(ts)}
             for b, ts in sorted(by_budget.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))]
    out = {
        "run": run.name, "path": str(run.path), "format": run.format,
        "overall": overall, "domains": domains, "difficulty": diffs,
        "tasks": [task_row(t) for t in run.tasks],
        "screenshots": sum(t.n_screenshots for t in run.tasks),
        "problems": [str(p) for p in run.all_problems()],
    }
    if "sum_log" in run.meta:
        out["sum_log"] = run.meta["sum_log"]
    return out


def compare_runs(runs: Iterable[Run]) -> dict[str, Any]:
    """Across runs: each run's rates, their mean and spread, and every task's status per run."""
    runs = list(runs)
    aggs = [aggregate(r) for r in runs]
    names = [a["run"] for a in aggs]
    keys = sorted({t.key for r in runs for t in r.tasks})
    status = {k: ["absent"] * len(runs) for k in keys}
    for i, r in enumerate(runs):
        for t in r.tasks:
            status[t.key][i] = t.status
    rows = [{"key": k, "statuses": status[k], "passed_in": sum(s == "pass" for s in status[k])} for k in keys]
    summary = {}
    for metric in ("macro_rate", "solved_rate", "finished_rate", "mean_score"):
        vals = [a["overall"][metric] for a in aggs if a["overall"][metric] is not None]
        mean = sum(vals) / len(vals) if vals else None
        std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else None
        summary[metric] = {"mean": mean, "std": std}
    domains = sorted({d["domain"] for a in aggs for d in a["domains"]})
    per_domain = {d: [next((x["solved_rate"] for x in a["domains"] if x["domain"] == d), None) for a in aggs]
                  for d in domains}
    return {"runs": names, "aggregates": aggs, "across": summary, "domain_rates": per_domain, "tasks": rows}


def pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.2f}%"


def summary_text(agg: dict[str, Any]) -> str:
    """The plain-text summary printed by ``replay summarize``."""
    o = agg["overall"]
    lines = [f"run {agg['run']} ({agg['format']}): {o['total']} tasks, {agg['screenshots']} screenshots",
             f"  passed {o['pass']}, partial {o['partial']}, failed {o['fail']}, crashed {o['crashed']}, "
             f"skipped {o['skipped']}",
             f"  overall (ScienceBoard, mean of domain rates): {pct(o['macro_rate'])}",
             f"  solved/total (crashed+skipped in denominator): {o['pass']}/{o['total']} = {pct(o['solved_rate'])}",
             f"  finished-only rate (OSWorld show_result style): {pct(o['finished_rate'])}",
             f"  mean score (partial credit, unfinished = 0): {pct(o['mean_score'])}", "", "by domain:"]
    w = max([len(d["domain"]) for d in agg["domains"]] + [6])
    for d in agg["domains"]:
        lines.append(f"  {d['domain']:<{w}}  {d['pass']:>3}/{d['total']:<3} {pct(d['solved_rate']):>8}"
                     f"  (crashed {d['crashed']}, skipped {d['skipped']}, partial {d['partial']})")
    lines += ["", "by difficulty (step budget):"]
    for d in agg["difficulty"]:
        lines.append(f"  {d['difficulty']:<8} budget {str(d['budget']):>4}  {d['pass']:>3}/{d['total']:<3} "
                     f"{pct(d['solved_rate']):>8}")
    if agg.get("sum_log"):
        s = agg["sum_log"]
        lines.append(f"\nSUM log {s['file']}: {s['total']} tested, {s['passed']} passed, {s['failed']} failed, "
                     f"{s['skipped']} skipped")
    if agg["problems"]:
        lines += ["", f"{len(agg['problems'])} problem(s) in the input:"] + [f"  {p}" for p in agg["problems"][:50]]
    return "\n".join(lines)
