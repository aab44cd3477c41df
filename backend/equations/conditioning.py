"""Find library columns that make the regression ill-posed, and say why they were dropped.

On short or slowly varying records some candidate terms are (nearly) linear combinations of
others: ``tanh(Hare)`` is the constant column when hares number in the thousands, ``sin(theta)``
equals ``theta`` for small swings. Least squares then splits one effect between the two with huge
opposite coefficients (6e10 seen on the lynx-hare record). We detect this before fitting: each
column (scaled to unit norm) is projected on the columns kept so far, in library order, and a
column with less than ``tol`` of its norm left is dependent and dropped. Library order puts the
simpler terms first, so the constant and the monomials survive and the exotic term goes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# A column is dependent when less than this share of it is orthogonal to the kept ones
# (sin of an angle that never exceeds 0.35 rad keeps ~2% of itself against theta, so 1e-3
# drops only what least squares cannot tell apart, not small-angle physics).
DEPENDENCE_TOL = 1e-3
# Coefficient magnitude (times column RMS, over target RMS) beyond which a fit is called unstable.
COEF_BOUND = 1e3


@dataclass
class Conditioning:
    """Which columns a regression may use, and a readable reason for each one it may not."""

    keep: np.ndarray                          # bool per library column
    dropped: dict[str, str] = field(default_factory=dict)   # term -> why
    condition_number: float = 1.0             # of the kept, unit-norm columns

    def messages(self) -> list[str]:
        return [f"dropped {term}: {why}" for term, why in self.dropped.items()]


def check_columns(theta: np.ndarray, names: list[str], tol: float = DEPENDENCE_TOL,
                  protected: tuple[int, ...] = ()) -> Conditioning:
    """Greedy Gram-Schmidt over columns in order; columns in ``protected`` are kept first."""
    theta = np.asarray(theta, dtype=np.float64)
    n_rows, n_cols = theta.shape
    keep = np.zeros(n_cols, dtype=bool)
    dropped: dict[str, str] = {}
    basis: list[np.ndarray] = []
    kept_names: list[str] = []
    order = list(protected) + [j for j in range(n_cols) if j not in protected]
    for j in order:
        col = theta[:, j]
        if not np.all(np.isfinite(col)):
            dropped[names[j]] = "not finite on the data (overflow or a domain error)"
            continue
        norm = float(np.linalg.norm(col))
        if norm == 0.0:
            dropped[names[j]] = "identically zero on the data"
            continue
        v = col / norm
        resid = v.copy()
        for b in basis:
            resid -= (b @ resid) * b
        left = float(np.linalg.norm(resid))
        if left < tol and j not in protected:
            weights = [abs(float(b @ v)) for b in basis]
            partners = [kept_names[k] for k in np.argsort(weights)[::-1][:2] if weights[k] > 1e-3]
            dropped[names[j]] = (f"collinear with {' and '.join(partners) or 'the kept terms'} on this data "
                                 f"({100 * left:.2g}% of it is independent)")
            continue
        basis.append(resid / max(left, 1e-300))
        keep[j] = True
        kept_names.append(names[j])
    cond = 1.0
    if keep.any() and n_rows >= keep.sum():
        scaled = theta[:, keep] / np.linalg.norm(theta[:, keep], axis=0)
        s = np.linalg.svd(scaled, compute_uv=False)
        cond = float(s[0] / max(s[-1], 1e-300))
    return Conditioning(keep, dropped, cond)


def oversized_terms(theta: np.ndarray, target: np.ndarray, coef: np.ndarray, names: list[str],
                    bound: float = COEF_BOUND) -> dict[str, str]:
    """Terms whose contribution scale |c|·rms(column) exceeds ``bound`` × rms(target) in any equation.

    Such a coefficient cancels against another term; it means the fit is unstable, not that the
    system has a huge rate."""
    col_rms = np.sqrt(np.mean(theta ** 2, axis=0))
    out: dict[str, str] = {}
    for i in range(coef.shape[0]):
        scale = max(float(np.sqrt(np.mean(target[:, i] ** 2))), 1e-300)
        for j in np.flatnonzero(coef[i]):
            ratio = abs(coef[i, j]) * col_rms[j] / scale
            if ratio > bound and names[j] not in out:
                out[names[j]] = (f"coefficient {coef[i, j]:.3g} in equation {i} contributes {ratio:.2g}x the "
                                 "derivative's size (it cancels against another term)")
    return out
