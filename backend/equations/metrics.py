"""How good is a discovered system: coefficients against the truth, and extrapolation.

A derivative fit can look perfect while the simulated model drifts away, so the headline
numbers are about simulation past the training window: the relative L2 error over the horizon
and the time until the prediction leaves a tolerance band (relative to the data's RMS size).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from backend.equations.library import parse_term


def truth_matrix(truth: dict[str, str], library) -> tuple[np.ndarray, list[str]]:
    """True coefficients in the library's basis; also the true terms the library lacks."""
    names = library.names
    index = {t.expr: j for j, t in enumerate(library.terms)}
    coef = np.zeros((len(names), len(library)))
    missing = []
    for i, n in enumerate(names):
        expr = sp.expand(parse_term(truth[n], names)) if truth.get(n, "0") != "0" else sp.Integer(0)
        for term, c in expr.as_coefficients_dict().items():
            key = sp.Integer(1) if term == 1 else term
            if key in index:
                coef[i, index[key]] = float(c)
            else:
                missing.append(f"{n}: {term}")
    return coef, missing


def coefficient_error(model, truth: dict[str, str]) -> dict:
    """Relative Frobenius error, max relative error on the true terms, and the support match."""
    true, missing = truth_matrix(truth, model.library)
    est = model.coef
    on = true != 0
    rel = np.abs(est[on] - true[on]) / np.abs(true[on])
    return {
        "coef_rel_error": float(np.linalg.norm(est - true) / np.linalg.norm(true)),
        "coef_max_rel_error_true_terms": float(rel.max()) if rel.size else 0.0,
        "support_correct": bool(np.array_equal(est != 0, on)) and not missing,
        "false_terms": int(np.sum((est != 0) & ~on)),
        "missed_terms": int(np.sum((est == 0) & on)) + len(missing),
    }


def relative_l2(pred: np.ndarray, true: np.ndarray) -> float:
    """||pred - true|| / ||true|| over the whole horizon; inf when the model diverged (NaN)."""
    if not np.all(np.isfinite(pred)):
        return float("inf")
    return float(np.linalg.norm(pred - true) / max(float(np.linalg.norm(true)), 1e-300))


def valid_time(t: np.ndarray, true: np.ndarray, pred: np.ndarray, tolerance: float = 0.1) -> float:
    """Time from the start of ``t`` until ||pred - true|| first exceeds ``tolerance`` times the
    RMS norm of the true states (the whole horizon if it never does). The error is averaged over
    a short running window (1/50 of the horizon) so measurement noise alone does not end it."""
    scale = np.sqrt(np.mean(np.sum(true ** 2, axis=1)))
    err = np.linalg.norm(np.nan_to_num(pred - true, nan=np.inf), axis=1) / max(scale, 1e-300)
    w = max(1, len(err) // 50)
    if w > 1:
        err = np.convolve(err, np.ones(w) / w, mode="same")
    bad = np.flatnonzero(~(err <= tolerance))
    return float((t[bad[0]] if len(bad) else t[-1]) - t[0])


def extrapolation_metrics(t: np.ndarray, true: np.ndarray, pred: np.ndarray, tolerance: float = 0.1) -> dict:
    return {"extrapolation_rel_l2": relative_l2(pred, true), "valid_time": valid_time(t, true, pred, tolerance),
            "horizon": float(t[-1] - t[0]), "tolerance": tolerance}
