"""ProcessBench evaluation (research note §2, QwenLM/ProcessBench ``run_eval.py``).

A PRM predicts the earliest wrong step: the first step scored strictly below the threshold, or
-1 when none is. Per subset: ``acc_error`` = % of erroneous samples (label ≠ -1) whose predicted
index equals the label exactly (early and late both miss), ``acc_correct`` = % of all-correct
samples predicted -1, ``f1`` their harmonic mean (0 when either is 0). A subset without one of
the two kinds has that accuracy and its F1 undefined (None) and is left out of the average. The
headline ``average_f1`` is the **unweighted** mean of subset F1s, as in the paper (the HF fork's
size-weighted figure differs and is reported separately as ``pooled``).
Subsets come from a ``subset`` field, else the ``id`` before its last ``-`` (``gsm8k-12``).
"""
from __future__ import annotations

from typing import Sequence

from backend.prm.steps import first_error


def accuracy_f1(labels: Sequence[int], preds: Sequence[int | None]) -> dict:
    """``{acc_error, acc_correct, f1, n_error, n_correct}`` in percent; unparseable (None) never matches."""
    err = [p == y for y, p in zip(labels, preds) if y != -1]
    cor = [p == -1 for y, p in zip(labels, preds) if y == -1]
    acc_e = 100.0 * sum(err) / len(err) if err else None
    acc_c = 100.0 * sum(cor) / len(cor) if cor else None
    return {"acc_error": acc_e, "acc_correct": acc_c, "f1": f1_from(acc_e, acc_c),
            "n_error": len(err), "n_correct": len(cor)}


def f1_from(acc_error: float | None, acc_correct: float | None) -> float | None:
    if acc_error is None or acc_correct is None:
        return None
    if acc_error + acc_correct == 0:
        return 0.0
    return 2 * acc_error * acc_correct / (acc_error + acc_correct)


def average_f1(subset_f1: Sequence[float | None]) -> float | None:
    vals = [f for f in subset_f1 if f is not None]
    return sum(vals) / len(vals) if vals else None


def evaluate(records: Sequence[dict], scores: Sequence[Sequence[float]], threshold: float = 0.5) -> dict:
    """Per-subset and average figures plus each sample's prediction, at one threshold."""
    preds = [first_error(s, threshold) for s in scores]
    subsets: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        subsets.setdefault(r["subset"], []).append(i)
    per = {name: accuracy_f1([records[i]["label"] for i in idx], [preds[i] for i in idx])
           for name, idx in sorted(subsets.items())}
    pooled = accuracy_f1([r["label"] for r in records], preds)
    samples = [{"id": r.get("id", ""), "subset": r["subset"], "label": r["label"], "predicted": p,
                "match": p == r["label"], "line": r.get("_line")} for r, p in zip(records, preds)]
    return {"threshold": threshold, "subsets": per, "average_f1": average_f1([v["f1"] for v in per.values()]),
            "pooled": pooled, "samples": samples}


def sweep(records: Sequence[dict], scores: Sequence[Sequence[float]],
          thresholds: Sequence[float] | None = None) -> dict:
    """F1 against the threshold: ``rows`` (threshold, average and per-subset F1), the threshold with
    the best average F1, and the best on ``gsm8k`` (the paper's protocol picks it there) if present."""
    if thresholds is None:
        thresholds = [round(0.05 * i, 2) for i in range(1, 20)]
    rows = []
    for t in thresholds:
        ev = evaluate(records, scores, t)
        rows.append({"threshold": float(t), "average_f1": ev["average_f1"],
                     "subsets": {k: v["f1"] for k, v in ev["subsets"].items()}})
    key = lambda r: -1.0 if r["average_f1"] is None else r["average_f1"]  # noqa: E731
    best = max(rows, key=key) if rows else None
    gsm = [r for r in rows if r["subsets"].get("gsm8k") is not None]
    best_gsm = max(gsm, key=lambda r: r["subsets"]["gsm8k"]) if gsm else None
    return {"rows": rows, "best_threshold": best["threshold"] if best else None,
            "best_average_f1": best["average_f1"] if best else None,
            "best_threshold_on_gsm8k": best_gsm["threshold"] if best_gsm else None}
