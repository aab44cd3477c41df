"""Budget sweeps and the compute-optimal view (arXiv 2502.06703).

One sweep runs every strategy at every budget N on a problem set. Majority vote, Best-of-N and
weighted Best-of-N share one set of max(N) samples per problem (budget n uses the first n);
beam search and DVTS run once per N. The same samples give each problem's Pass@1 (share of
correct samples), which bins problems into difficulty levels; per level and budget the best
measured strategy is the compute-optimal one.

Caveat, stated in the result: difficulty comes from the policy's own samples on the evaluated
problems (an oracle, as in the paper), so the per-level table says which strategy *would* be
best if a problem's difficulty were known; for unseen problems estimate Pass@1 first.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from backend.tts.data import Problem
from backend.tts.strategies import Searcher
from backend.tts.types import NEEDS_PRM, SAMPLED, STRATEGIES, ProblemResult

DEFAULT_THRESHOLDS = (0.1, 0.5)   # hard < 10 % <= medium < 50 % <= easy (paper's bins, as recalled)


def difficulty_bins(pass1: Sequence[float],
                    thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> tuple[list[str], list[str]]:
    """(bin names from hardest to easiest, bin name of each problem) for absolute Pass@1 thresholds."""
    t = sorted(float(x) for x in thresholds)
    edges = [0.0, *t, 1.0]
    names = []
    for i in range(len(edges) - 1):
        label = "hard" if i == 0 else "easy" if i == len(edges) - 2 else "medium" if len(edges) == 4 else f"level {i}"
        hi = "]" if i == len(edges) - 2 else ")"
        names.append(f"{label} [{edges[i]:.0%}, {edges[i + 1]:.0%}{hi}")
    which = [names[min(int(np.searchsorted(t, p, side="right")), len(names) - 1)] for p in pass1]
    return names, which


def _summary(results: list[ProblemResult], rows: list[int] | None = None) -> dict:
    sel = results if rows is None else [results[i] for i in rows]
    if not sel:
        return {"accuracy": None, "tokens": None, "prm_calls": None, "samples": None, "count": 0}
    labelled = [r.correct for r in sel if r.correct is not None]
    return {
        "accuracy": float(np.mean(labelled)) if labelled else None,
        "tokens": float(np.mean([r.budget.tokens for r in sel])),
        "prm_calls": float(np.mean([r.budget.prm_calls for r in sel])),
        "samples": float(np.mean([r.budget.samples for r in sel])),
        "count": len(sel),
    }


def run_sweep(searcher: Searcher, problems: list[Problem], strategies: Sequence[str], ns: Sequence[int],
              thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
              progress: Callable[[float, str], None] | None = None) -> tuple[dict, list[ProblemResult]]:
    """Run the sweep; returns (summary, every per-problem result). The summary is JSON-able."""
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategy {unknown[0]!r}; known: {', '.join(STRATEGIES)}")
    if searcher.scorer is None and any(s in NEEDS_PRM for s in strategies):
        raise ValueError(f"strategies {', '.join(s for s in strategies if s in NEEDS_PRM)} need a PRM (--prm)")
    ns = sorted({int(n) for n in ns})
    if not ns or ns[0] < 1:
        raise ValueError("budgets N must be positive integers")
    report = progress or (lambda f, m: None)
    tree_strats = [s for s in strategies if s in ("beam", "dvts")]
    total_units = 1 + sum(n for n in ns) * len(tree_strats) / max(ns) + ("greedy" in strategies) * 0.1
    done_units = 0.0
    all_results: list[ProblemResult] = []
    runs: dict[str, dict[int, list[ProblemResult]]] = {}

    report(0.0, f"sampling {max(ns)} solutions for each of {len(problems)} problems")
    sampled = [s for s in strategies if s in SAMPLED] or ["majority"]
    got = searcher.run_sampled(problems, sampled, ns)
    pass1 = [float(np.mean([bool(c) for c in _pass_flags(got[sampled[0]][max(ns)][i], p)])) if p.answer else 0.0
             for i, p in enumerate(problems)]
    for s in strategies:
        if s in SAMPLED:
            runs[s] = got[s]
    done_units += 1
    if "greedy" in strategies:
        report(done_units / total_units, "greedy decoding")
        runs["greedy"] = {1: searcher.run("greedy", problems)}
        done_units += 0.1
    base_n = searcher.cfg.n
    try:
        for s in tree_strats:
            runs[s] = {}
            for n in ns:
                searcher.cfg.n = n
                start, width = done_units, n / max(ns)
                def step_progress(f: float, m: str, a: float = start, w: float = width) -> None:
                    report((a + f * w) / total_units, m)

                runs[s][n] = searcher.run(s, problems, step_progress)
                done_units += width
    finally:
        searcher.cfg.n = base_n

    names, which = difficulty_bins(pass1, thresholds)
    summary_runs: dict[str, dict[str, dict]] = {}
    for s, by_n in sorted(runs.items(), key=lambda kv: STRATEGIES.index(kv[0])):
        summary_runs[s] = {}
        for n, res in by_n.items():
            entry = _summary(res)
            entry["per_bin"] = {b: _summary(res, [i for i, w in enumerate(which) if w == b]) for b in names}
            entry["correct"] = [r.correct for r in res]
            summary_runs[s][str(n)] = entry
            all_results += res
    summary = {
        "strategies": [s for s in STRATEGIES if s in runs],
        "ns": ns,
        "problems": [{**p.to_dict(), "pass1": pass1[i], "bin": which[i]} for i, p in enumerate(problems)],
        "bins": names,
        "bin_counts": {b: which.count(b) for b in names},
        "thresholds": list(thresholds),
        "runs": summary_runs,
        "compute_optimal": compute_optimal(summary_runs, names, ns),
        "config": searcher.cfg.search_dict(),
        "difficulty_note": "bins use Pass@1 measured on these problems' own samples (oracle difficulty)",
    }
    report(1.0, "sweep done")
    return summary, all_results


def _pass_flags(result: ProblemResult, problem: Problem) -> list[bool]:
    from backend.tts.strategies import is_correct

    return [bool(is_correct(c.answer, problem.answer)) for c in result.candidates]


def _better(a: tuple[str, dict], b: tuple[str, dict] | None) -> bool:
    if b is None:
        return True
    (sa, ea), (sb, eb) = a, b
    ka = (ea["accuracy"], -ea["tokens"], -STRATEGIES.index(sa))
    kb = (eb["accuracy"], -eb["tokens"], -STRATEGIES.index(sb))
    return ka > kb


def compute_optimal(runs: dict[str, dict[str, dict]], bins: list[str], ns: Sequence[int]) -> list[dict]:
    """Best strategy per (difficulty bin, N), and over all problems (bin ``all``): highest
    accuracy, then fewest tokens, then the simpler strategy. Greedy competes at N = 1 only."""
    table = []
    for b in ["all", *bins]:
        for n in ns:
            best = None
            for s, by_n in runs.items():
                e = by_n.get(str(n))
                if e is None:
                    continue
                e = e if b == "all" else e["per_bin"][b]
                if e["accuracy"] is None or not e["count"]:
                    continue
                if _better((s, e), best):
                    best = (s, e)
            if best is not None:
                table.append({"bin": b, "n": n, "strategy": best[0], "accuracy": best[1]["accuracy"],
                              "tokens": best[1]["tokens"], "prm_calls": best[1]["prm_calls"]})
    return table


def recommend(summary: dict, max_tokens: float, bin_name: str = "all") -> dict | None:
    """The most accurate (strategy, N) whose mean generated tokens per problem fit ``max_tokens``
    (within ``bin_name``, or over all problems); None when nothing fits."""
    best = None
    for s, by_n in summary["runs"].items():
        for n, e in by_n.items():
            e = e if bin_name == "all" else e["per_bin"].get(bin_name)
            if not e or e["accuracy"] is None or e["tokens"] is None or e["tokens"] > max_tokens:
                continue
            if _better((s, e), None if best is None else (best["strategy"], best)):
                best = {"strategy": s, "n": int(n), **{k: e[k] for k in ("accuracy", "tokens", "prm_calls")}}
    return best
