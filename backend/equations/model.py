"""The discovered system: coefficients over a library, as sympy/LaTeX, simulated with scipy.

``fit_system`` is the whole SINDy pipeline on one trajectory: derivatives of the training part,
library, sparse regression (optionally ensembled, optionally with the threshold chosen by model
selection), then extrapolation from the first held-out sample over the rest so the model is
judged on data it never saw.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from backend.equations import derivatives, regression
from backend.equations.library import Library


@dataclass
class FitSettings:
    """Everything that decides a fit (JSON-able, stored with the run)."""

    library: str = "poly3"
    custom_terms: list[str] = field(default_factory=list)
    derivative: str = "finite_difference"
    window: int = 11
    optimizer: str = "stlsq"
    threshold: float = 0.1
    alpha: float = 0.05
    normalize_columns: bool = False
    ensemble: int = 0
    select: bool = False
    train_fraction: float = 0.8
    seed: int = 0

    @classmethod
    def from_params(cls, params: dict) -> "FitSettings":
        known = {k: v for k, v in params.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class SparseModel:
    """dx/dt = coef @ Theta(x): one row of ``coef`` per state, one column per library term."""

    def __init__(self, library: Library, coef: np.ndarray) -> None:
        self.library = library
        self.coef = np.asarray(coef, dtype=np.float64)

    @property
    def names(self) -> list[str]:
        return self.library.names

    def rhs(self, x: np.ndarray) -> np.ndarray:
        """Model derivative at states ``x`` (n, n_states) or (n_states,)."""
        return self.library.transform(np.atleast_2d(x)) @ self.coef.T

    def equations(self, digits: int = 4) -> list[sp.Expr]:
        """Right-hand sides as sympy expressions with coefficients rounded to ``digits``."""
        out = []
        for row in self.coef:
            expr = sp.Integer(0)
            for c, term in zip(row, self.library.terms):
                if c != 0:
                    expr += sp.Float(float(f"{c:.{digits}g}"), digits) * term.expr
            out.append(expr)
        return out

    def latex(self, digits: int = 4) -> list[str]:
        return [rf"\dot{{{sp.latex(s)}}} = {sp.latex(e) if e != 0 else '0'}"
                for s, e in zip(self.library.syms, self.equations(digits))]

    def text(self, digits: int = 4) -> list[str]:
        return [f"d{n}/dt = {e}" for n, e in zip(self.names, self.equations(digits))]

    @property
    def n_terms(self) -> int:
        return int(np.count_nonzero(self.coef))

    def simulate(self, x0: np.ndarray, t: np.ndarray, blowup: float = 1e6) -> np.ndarray:
        """Integrate from ``x0`` on times ``t`` (LSODA, rtol 1e-9). Rows after a blow-up
        (|x| > blowup, or a solver failure) are NaN so metrics can see the divergence."""
        t = np.asarray(t, dtype=np.float64)
        out = np.full((len(t), len(self.names)), np.nan)

        def f(_t: float, y: np.ndarray) -> np.ndarray:
            return self.rhs(y)[0]

        def escape(_t: float, y: np.ndarray) -> float:
            return blowup - np.max(np.abs(y))

        escape.terminal = True
        sol = solve_ivp(f, (t[0], t[-1]), np.asarray(x0, dtype=np.float64), method="LSODA", t_eval=t,
                        rtol=1e-9, atol=1e-9, events=escape)
        if sol.y.size:
            out[: sol.y.shape[1]] = sol.y.T
        return out

    def to_dict(self) -> dict:
        return {"library": self.library.spec(), "coef": self.coef.tolist(), "feature_names": self.library.feature_names,
                "equations": [str(e) for e in self.equations()], "latex": self.latex()}

    @classmethod
    def from_dict(cls, d: dict) -> "SparseModel":
        return cls(Library.from_dict(d["library"]), np.array(d["coef"], dtype=np.float64))


@dataclass
class FitResult:
    model: SparseModel
    settings: FitSettings
    t: np.ndarray
    x: np.ndarray            # states as used (smoothed when the derivative smooths)
    dx: np.ndarray           # derivative estimate on the training part
    n_train: int
    prediction: np.ndarray   # simulation from the first held-out sample over the held-out part
    metrics: dict
    selection: dict | None = None
    inclusion: np.ndarray | None = None

    def summary(self) -> dict:
        return {"equations": self.model.text(), "latex": self.model.latex(), "metrics": self.metrics,
                "settings": asdict(self.settings), "feature_names": self.model.library.feature_names,
                "coef": self.model.coef.tolist(), "selection": self.selection,
                "inclusion": None if self.inclusion is None else self.inclusion.tolist()}


def fit_coefficients(theta: np.ndarray, dx: np.ndarray, s: FitSettings) -> tuple[np.ndarray, dict | None, np.ndarray | None]:
    kw = dict(alpha=s.alpha, normalize_columns=s.normalize_columns)
    selection = None
    threshold = s.threshold
    if s.select:
        grid = np.concatenate([[0.0], np.geomspace(1e-3, 10.0, 13)])
        selection = regression.select_threshold(theta, dx, grid, s.optimizer, **kw)
        threshold = selection["best_threshold"]
    if s.ensemble > 1:
        coef, incl = regression.ensemble(theta, dx, s.ensemble, s.seed, s.optimizer, threshold=threshold, **kw)
        return coef, selection, incl
    return regression.solve(theta, dx, s.optimizer, threshold=threshold, **kw), selection, None


def fit_system(t: np.ndarray, x: np.ndarray, names: list[str], settings: FitSettings | None = None,
               truth: dict[str, str] | None = None, tolerance: float = 0.1) -> FitResult:
    """Fit on the first ``train_fraction`` of the samples; extrapolate over the rest."""
    from backend.equations import metrics

    s = settings or FitSettings()
    t = np.asarray(t, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if not 0.1 <= s.train_fraction <= 1.0:
        raise ValueError(f"train_fraction must be in [0.1, 1], got {s.train_fraction}")
    n_train = int(round(len(t) * s.train_fraction))
    if n_train < 10:
        raise ValueError(f"only {n_train} training samples; need at least 10")
    dt = float(t[1] - t[0])
    library = Library.from_spec(s.library, names, s.custom_terms)
    t0 = time.perf_counter()
    xs, dx = derivatives.differentiate(x[:n_train], dt, s.derivative, window=s.window)
    theta = library.transform(xs)
    coef, selection, inclusion = fit_coefficients(theta, dx, s)
    fit_seconds = time.perf_counter() - t0
    model = SparseModel(library, coef)
    resid = dx - theta @ coef.T
    m = {"fit_seconds": fit_seconds, "n_terms": model.n_terms, "n_library": len(library),
         "derivative_r2": float(1 - np.sum(resid ** 2) / max(np.sum((dx - dx.mean(0)) ** 2), 1e-300))}
    prediction = np.empty((0, x.shape[1]))
    if n_train < len(t) - 1:
        start = n_train - 1  # from the last training state (smoothed if the derivative smooths)
        prediction = model.simulate(xs[start], t[start:])
        m.update(metrics.extrapolation_metrics(t[start:], x[start:], prediction, tolerance))
    if truth:
        m.update(metrics.coefficient_error(model, truth))
    return FitResult(model, s, t, np.vstack([xs, x[n_train:]]), dx, n_train, prediction, m, selection, inclusion)
