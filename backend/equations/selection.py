"""Choose each equation's terms by their error on held-out rows, and say what was chosen.

Plain threshold sweeps with an in-sample criterion fail on short noisy records: the criterion
keeps spurious terms, or every threshold removes everything and the model silently becomes
``d/dt = 0``. Here every candidate support (the supports along the STLSQ threshold path, and
every small support when the library is small enough to enumerate) is refitted by least squares
and scored by cross-validation: leave-one-out in closed form (``e_i / (1 - h_ii)``) for short
records, contiguous blocks for long ones (neighbouring samples of a long series are nearly
copies, so leave-one-out would reward over-fitting). The default rule is the one-standard-error
rule: the sparsest support whose held-out error is within one standard error of the best.
AICc and BIC computed on the held-out error are offered as alternatives. The empty support
(``d/dt = 0``) and the constant-only support are always candidates, and when one of them wins the
result says that nothing beat the constant model.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from backend.equations import regression
from backend.equations.settings import CRITERIA

MAX_ENUMERATED = 4000          # supports per equation enumerated exhaustively at most
LOO_MAX_ROWS = 400             # above this, contiguous K-fold instead of leave-one-out
THRESHOLDS = np.concatenate([[0.0], np.geomspace(1e-3, 30.0, 20)])


@dataclass
class Candidate:
    support: tuple[int, ...]
    cv_mse: float
    cv_se: float
    n_terms: int
    criterion: float = math.nan


@dataclass
class EquationSelection:
    name: str
    chosen: Candidate
    curve: list[dict]                 # best candidate per support size: n_terms, cv_mse, criterion
    message: str = ""


@dataclass
class Selection:
    coef: np.ndarray                  # (n_targets, n_terms) over the columns given
    equations: list[EquationSelection]
    criterion: str
    validation: str                   # "leave-one-out" or "K contiguous folds"
    messages: list[str] = field(default_factory=list)

    def to_dict(self, feature_names: list[str]) -> dict:
        return {"criterion": self.criterion, "validation": self.validation, "messages": self.messages,
                "equations": [{"equation": e.name, "terms": [feature_names[j] for j in e.chosen.support],
                               "n_terms": e.chosen.n_terms, "cv_mse": e.chosen.cv_mse,
                               "criterion": e.chosen.criterion, "curve": e.curve, "message": e.message}
                              for e in self.equations]}


def _fit(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(a, y, rcond=None)[0] if a.shape[1] else np.zeros(0)


def cv_errors(a: np.ndarray, y: np.ndarray, folds: int | None) -> np.ndarray:
    """Held-out squared errors, one per row."""
    n = len(y)
    if a.shape[1] == 0:
        return y ** 2
    if folds is None:
        q, r = np.linalg.qr(a)
        if np.min(np.abs(np.diag(r))) < 1e-12 * max(np.max(np.abs(np.diag(r))), 1e-300):
            return np.full(n, np.inf)
        h = np.sum(q ** 2, axis=1)
        resid = y - q @ (q.T @ y)
        with np.errstate(divide="ignore", invalid="ignore"):
            loo = resid / (1.0 - h)
        return np.where(h < 1 - 1e-10, loo ** 2, np.inf)
    errs = np.empty(n)
    bounds = np.linspace(0, n, folds + 1).round().astype(int)
    for lo, hi in itertools.pairwise(bounds):
        train = np.ones(n, dtype=bool)
        train[lo:hi] = False
        w = _fit(a[train], y[train])
        errs[lo:hi] = (y[lo:hi] - a[lo:hi] @ w) ** 2
    return errs


def _score(cands: list[Candidate], rule: str, n: int) -> Candidate:
    finite = [c for c in cands if math.isfinite(c.cv_mse)]
    if not finite:
        return cands[0]
    for c in finite:
        mse = max(c.cv_mse, 1e-300)
        if rule == "aicc":
            k = c.n_terms
            c.criterion = n * math.log(mse) + 2 * k + (2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf)
        elif rule == "bic":
            c.criterion = n * math.log(mse) + c.n_terms * math.log(n)
        else:
            c.criterion = c.cv_mse
    if rule == "cv1se":
        best = min(finite, key=lambda c: c.cv_mse)
        limit = best.cv_mse + best.cv_se
        return min((c for c in finite if c.cv_mse <= limit), key=lambda c: (c.n_terms, c.cv_mse))
    return min(finite, key=lambda c: (c.criterion, c.n_terms))


def candidate_supports(a: np.ndarray, y: np.ndarray, max_terms: int, optimizer: str, alpha: float,
                       const: int | None) -> set[tuple[int, ...]]:
    """Supports to score: empty, constant-only, the STLSQ threshold path, and all small ones."""
    n_cols = a.shape[1]
    supports: set[tuple[int, ...]] = {()}
    if const is not None:
        supports.add((const,))
    for thr in THRESHOLDS:
        coef = regression.solve(a, y[:, None], optimizer, threshold=float(thr), alpha=alpha, normalize_columns=True)
        supports.add(tuple(int(j) for j in np.flatnonzero(coef[0])))
    total, k_max = 0, 0
    for k in range(1, min(max_terms, n_cols) + 1):
        total += math.comb(n_cols, k)
        if total > MAX_ENUMERATED:
            break
        k_max = k
    for k in range(1, k_max + 1):
        supports.update(itertools.combinations(range(n_cols), k))
    return {s for s in supports if len(s) <= max(max_terms, 1) or len(s) == 0}


def select_supports(a: np.ndarray, targets: np.ndarray, feature_names: list[str], target_names: list[str],
                    criterion: str = "cv1se", max_terms: int = 6, optimizer: str = "stlsq", alpha: float = 0.05,
                    nuisance: np.ndarray | None = None) -> Selection:
    """Per equation, the support chosen by ``criterion`` on held-out rows, refitted on all rows.

    ``nuisance`` columns (e.g. the unknown initial value of an integral formulation) are part of
    every fit but never of a reported model."""
    if criterion not in CRITERIA:
        raise ValueError(f"unknown selection criterion {criterion!r} (choose from {', '.join(CRITERIA)})")
    a = np.asarray(a, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64).reshape(len(a), -1)
    n = len(a)
    extra = np.zeros((n, 0)) if nuisance is None else np.asarray(nuisance, dtype=np.float64).reshape(n, -1)
    folds = None if n <= LOO_MAX_ROWS else 10
    validation = "leave-one-out" if folds is None else f"{folds} contiguous folds"
    const = feature_names.index("1") if "1" in feature_names else None
    coef = np.zeros((targets.shape[1], a.shape[1]))
    out, messages = [], []
    for i, name in enumerate(target_names):
        y = targets[:, i]
        cands = []
        for s in sorted(candidate_supports(a, y, max_terms, optimizer, alpha, const), key=lambda s: (len(s), s)):
            design = np.column_stack([a[:, list(s)], extra]) if (s or extra.shape[1]) else np.zeros((n, 0))
            errs = cv_errors(design, y, folds)
            mse = float(np.mean(errs))
            se = float(np.std(errs) / math.sqrt(n)) if math.isfinite(mse) else math.inf
            cands.append(Candidate(s, mse, se, len(s)))
        chosen = _score(cands, criterion, n)
        design = np.column_stack([a[:, list(chosen.support)], extra])
        w = _fit(design, y)
        coef[i, list(chosen.support)] = w[: len(chosen.support)]
        curve = []
        for k in sorted({c.n_terms for c in cands}):
            best_k = min((c for c in cands if c.n_terms == k), key=lambda c: c.cv_mse)
            curve.append({"n_terms": k, "cv_mse": best_k.cv_mse, "criterion": best_k.criterion,
                          "terms": [feature_names[j] for j in best_k.support],
                          "chosen": best_k.support == chosen.support})
        msg = ""
        if set(chosen.support) <= ({const} if const is not None else set()):
            zero = next(c for c in cands if c.support == ())
            msg = (f"d{name}/dt: no term beat the {'constant' if chosen.support else 'zero'} model on held-out "
                   f"rows (error {chosen.cv_mse:.3g}; zero model {zero.cv_mse:.3g}); the data may be too short or "
                   "noisy, or the library may lack the right terms")
            messages.append(msg)
        out.append(EquationSelection(name, chosen, curve, msg))
    return Selection(coef, out, criterion, validation, messages)
