"""Sparse regression of derivatives on a library: STLSQ, SR3, bagged ensembles, model selection.

All solvers take ``theta`` (n_samples, n_terms) and ``dx`` (n_samples, n_states) and return
coefficients (n_states, n_terms), one row per equation, float64.

STLSQ follows the algorithm of Brunton et al. (2016) exactly as PySINDy 2.x runs it, so the two
agree to rounding error on the same inputs: least-squares start; per equation a ridge solve
``(A'A + alpha I) w = A'y`` on the surviving columns, then zero every |w| < threshold; stop when
nothing was removed or the support stopped changing; finally an unregularised least-squares
refit on the support (the ridge term biases coefficients towards zero). Optional column
normalisation divides by the L2 norm of each column and rescales at the end.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg as sla


def _lstsq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return sla.lstsq(a, b, cond=None, lapack_driver="gelsd")[0]


def _ridge(a: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    gram = a.T @ a
    gram.flat[:: gram.shape[0] + 1] += alpha
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sla.LinAlgWarning)
        try:
            return sla.solve(gram, a.T @ y, assume_a="pos", overwrite_a=True)
        except sla.LinAlgError:
            return _lstsq(a, y)


def _unbias(theta: np.ndarray, dx: np.ndarray, coef: np.ndarray) -> np.ndarray:
    out = np.zeros_like(coef)
    for i in range(coef.shape[0]):
        keep = np.abs(coef[i]) > 1e-14
        if keep.any():
            out[i, keep] = _lstsq(theta[:, keep], dx[:, i])
    return out


def stlsq(theta: np.ndarray, dx: np.ndarray, threshold: float = 0.1, alpha: float = 0.05, max_iter: int = 20,
          normalize_columns: bool = False, unbias: bool = True) -> np.ndarray:
    """Sequentially thresholded least squares (PySINDy-compatible; see the module docstring)."""
    if threshold < 0 or alpha < 0:
        raise ValueError("threshold and alpha must be non-negative")
    theta = np.asarray(theta, dtype=np.float64)
    dx = np.asarray(dx, dtype=np.float64).reshape(len(theta), -1)
    norms = None
    if normalize_columns:
        norms = np.linalg.norm(theta, axis=0)
        norms[norms == 0] = 1.0
        theta = theta / norms
    n_targets, n_terms = dx.shape[1], theta.shape[1]
    coef = _lstsq(theta, dx).T
    ind = np.ones((n_targets, n_terms), dtype=bool)
    n_start = ind.sum()
    previous = coef
    for _ in range(max_iter):
        if not ind.any():
            coef = np.zeros((n_targets, n_terms))
            break
        coef = np.zeros((n_targets, n_terms))
        for i in range(n_targets):
            if not ind[i].any():
                continue
            row = np.zeros(n_terms)
            row[ind[i]] = _ridge(theta[:, ind[i]], dx[:, i], alpha)
            big = np.abs(row) >= threshold
            row[~big] = 0.0
            coef[i], ind[i] = row, big
        unchanged = np.array_equal(coef != 0, previous != 0)
        previous = coef
        if ind.sum() == n_start or unchanged:
            break
    if unbias:
        coef = _unbias(theta, dx, coef)
    if norms is not None:
        coef = coef / norms
    return coef


def sr3(theta: np.ndarray, dx: np.ndarray, threshold: float = 0.1, nu: float = 1.0, penalty: str = "l0",
        max_iter: int = 1000, tol: float = 1e-8, normalize_columns: bool = False, unbias: bool = True) -> np.ndarray:
    """Sparse relaxed regularised regression (Zheng et al. 2019).

    Minimises 0.5||dx - theta xi||^2 + lam R(w) + ||xi - w||^2 / (2 nu) by alternating an exact
    least-squares step for xi with the proximal step for w. ``threshold`` is the value below
    which the prox zeroes a coefficient (lam = threshold^2 / (2 nu) for L0, threshold / nu for
    L1), so it is on the same scale as STLSQ's threshold. The support of w is returned,
    refitted without regularisation when ``unbias``.
    """
    if penalty not in ("l0", "l1"):
        raise ValueError(f"SR3 penalty must be 'l0' or 'l1', got {penalty!r}")
    theta = np.asarray(theta, dtype=np.float64)
    dx = np.asarray(dx, dtype=np.float64).reshape(len(theta), -1)
    norms = None
    if normalize_columns:
        norms = np.linalg.norm(theta, axis=0)
        norms[norms == 0] = 1.0
        theta = theta / norms
    gram = theta.T @ theta
    gram.flat[:: gram.shape[0] + 1] += 1.0 / nu
    cho = sla.cho_factor(gram)
    rhs0 = theta.T @ dx
    w = _lstsq(theta, dx)
    for _ in range(max_iter):
        xi = sla.cho_solve(cho, rhs0 + w / nu)
        if penalty == "l0":
            w_new = np.where(np.abs(xi) >= threshold, xi, 0.0)
        else:
            w_new = np.sign(xi) * np.maximum(np.abs(xi) - threshold, 0.0)
        change = np.linalg.norm(w_new - w) / max(float(np.linalg.norm(w)), 1e-300)
        w = w_new
        if change < tol:
            break
    coef = w.T
    if unbias:
        coef = _unbias(theta, dx, coef)
    if norms is not None:
        coef = coef / norms
    return coef


def solve(theta: np.ndarray, dx: np.ndarray, optimizer: str = "stlsq", **kw) -> np.ndarray:
    """Dispatch by name: ``stlsq`` or ``sr3`` (``sr3-l1`` for the L1 penalty)."""
    if optimizer == "stlsq":
        return stlsq(theta, dx, **{k: v for k, v in kw.items() if k in
                                   ("threshold", "alpha", "max_iter", "normalize_columns", "unbias")})
    if optimizer in ("sr3", "sr3-l0", "sr3-l1"):
        return sr3(theta, dx, penalty="l1" if optimizer.endswith("l1") else "l0",
                   **{k: v for k, v in kw.items() if k in ("threshold", "nu", "normalize_columns", "unbias")})
    raise ValueError(f"unknown optimizer {optimizer!r} (choose stlsq, sr3, sr3-l1)")


def ensemble(theta: np.ndarray, dx: np.ndarray, n_models: int = 20, seed: int = 0, optimizer: str = "stlsq",
             **kw) -> tuple[np.ndarray, np.ndarray]:
    """Bagging (E-SINDy): fit on bootstrap resamples of the rows; return the median coefficients
    and each term's inclusion probability. Terms kept by fewer than half the models have median
    zero, which is what makes ensembling robust to noise."""
    rng = np.random.default_rng(seed)
    n = len(theta)
    coefs = []
    for _ in range(n_models):
        rows = rng.integers(0, n, size=n)
        coefs.append(solve(theta[rows], dx[rows], optimizer, **kw))
    stack = np.stack(coefs)
    return np.median(stack, axis=0), (stack != 0).mean(axis=0)


def select_threshold(theta: np.ndarray, dx: np.ndarray, thresholds: np.ndarray | list[float],
                     optimizer: str = "stlsq", validation_fraction: float = 0.25, **kw) -> dict:
    """Model selection over a threshold path by AIC on held-out rows (the last part in time).

    AIC = n log(RSS/n) + 2k trades the validation residual against the number of terms k; it
    picks the sparse true model where plain validation error would prefer extra tiny terms.
    """
    n_val = max(1, int(len(theta) * validation_fraction))
    tr, va = slice(0, len(theta) - n_val), slice(len(theta) - n_val, None)
    path = []
    for thr in thresholds:
        coef = solve(theta[tr], dx[tr], optimizer, threshold=float(thr), **kw)
        rss = float(np.sum((dx[va] - theta[va] @ coef.T) ** 2))
        k = int(np.count_nonzero(coef))
        n = dx[va].size
        aic = n * np.log(max(rss, 1e-300) / n) + 2 * k
        path.append({"threshold": float(thr), "n_terms": k, "val_rss": rss, "aic": float(aic)})
    best = min(path, key=lambda r: (r["aic"], r["n_terms"]))
    return {"best_threshold": best["threshold"], "path": path}
