"""Seed statistics shared by the bench and the panel: spread, paired tests, mean curves.

Runs of different methods with the same seed share the split, the pretrained network and the
batch order, so method differences are compared *paired by seed* (paired t-test and Wilcoxon
signed-rank test; with fewer than 2 pairs no test is possible and ``None`` is returned).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def paired_test(a: Sequence[float], b: Sequence[float]) -> dict[str, float | None]:
    """Mean difference a − b with the paired t-test and Wilcoxon p-values (two-sided)."""
    from scipy import stats

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    out: dict[str, float | None] = {"n": int(min(len(x), len(y))), "mean_diff": None, "t_p": None, "wilcoxon_p": None}
    if len(x) != len(y) or len(x) < 2:
        return out
    d = x - y
    out["mean_diff"] = float(d.mean())
    if np.all(d == 0):
        out["t_p"] = out["wilcoxon_p"] = 1.0
        return out
    if not np.allclose(d, d[0]):                  # a constant difference leaves the t-test undefined
        out["t_p"] = float(stats.ttest_rel(x, y).pvalue)
    out["wilcoxon_p"] = float(stats.wilcoxon(x, y).pvalue) if np.any(d != 0) else 1.0
    return out


def mean_curve(series: Sequence[dict[float, float]]) -> tuple[list[float], list[float]]:
    """Mean over runs at every step that at least one run has reached (live curves grow)."""
    steps = sorted({s for run in series for s in run})
    xs, ys = [], []
    for s in steps:
        vals = [run[s] for run in series if s in run]
        xs.append(float(s))
        ys.append(float(np.mean(vals)))
    return xs, ys


def smooth(values: Sequence[float], window: int) -> list[float]:
    """Trailing moving average (per-iteration losses are noisy)."""
    if window <= 1 or not values:
        return list(values)
    v = np.asarray(values, dtype=float)
    c = np.cumsum(np.insert(v, 0, 0.0))
    out = [(c[i + 1] - c[max(0, i + 1 - window)]) / (i + 1 - max(0, i + 1 - window)) for i in range(len(v))]
    return [float(x) for x in out]
