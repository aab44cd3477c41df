"""The discovered system: coefficients over a library, as sympy/LaTeX, simulated with scipy.

``fit_system`` is the whole SINDy pipeline on one trajectory: derivatives of the training part,
library, sparse regression (optionally ensembled, optionally with the threshold chosen by model
selection), then extrapolation from the first held-out sample over the rest so the model is
judged on data it never saw.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from backend.equations import (
    conditioning,
    derivatives,
    formulations,
    regression,
    selection,
)
from backend.equations.library import Library
from backend.equations.settings import FitSettings


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

        escape.terminal = True  # type: ignore[attr-defined]  # solve_ivp reads events' attributes
        sol = solve_ivp(f, (t[0], t[-1]), np.asarray(x0, dtype=np.float64), method="LSODA", t_eval=t,
                        rtol=1e-9, atol=1e-9, events=escape)
        if sol.y.size:
            out[: sol.y.shape[1]] = sol.y.T
        return out

    def to_dict(self) -> dict:
        return {"library": self.library.spec(), "coef": self.coef.tolist(), "feature_names": self.library.feature_names,
                "equations": [str(e) for e in self.equations()], "latex": self.latex()}

    @classmethod
    def from_dict(cls, d: dict) -> SparseModel:
        return cls(Library.from_dict(d["library"]), np.array(d["coef"], dtype=np.float64))


@dataclass
class FitResult:
    model: SparseModel
    settings: FitSettings
    t: np.ndarray
    x: np.ndarray            # states as used (smoothed when the derivative smooths; with velocities for order 2)
    dx: np.ndarray           # derivative estimate on the training part (for plots and residuals)
    n_train: int
    prediction: np.ndarray   # simulation from the last training sample over the held-out part
    metrics: dict
    selection: dict | None = None
    inclusion: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)   # what the fit decided on its own, in words
    formulation: str = "derivative"
    system: formulations.RegressionSystem | None = None   # the rows the coefficients were fitted to
    train: formulations.Trajectory | None = None

    def candidate_system(self, terms: list[str]) -> formulations.RegressionSystem:
        """Candidate ``terms`` as columns in the same row space as :attr:`system`."""
        lib = Library(self.model.names, degree=0, custom=terms, include_bias=False)
        if self.train is None:
            raise ValueError("this fit kept no training trajectory to build candidates on")
        return formulations.build(self.train, lib, self.formulation, self.settings.derivative, self.settings.window)

    def summary(self) -> dict:
        return {"equations": self.model.text(), "latex": self.model.latex(), "metrics": self.metrics,
                "settings": self.settings.to_dict(), "feature_names": self.model.library.feature_names,
                "coef": self.model.coef.tolist(), "selection": self.selection, "notes": self.notes,
                "formulation": self.formulation,
                "inclusion": None if self.inclusion is None else self.inclusion.tolist()}


def _trajectory(t: np.ndarray, x: np.ndarray, names: list[str], s: FitSettings) -> formulations.Trajectory:
    """States as used by the fit; second order adds each column's estimated velocity ``<name>_t``."""
    dt = float(t[1] - t[0])
    if s.order == 1:
        return formulations.Trajectory(t, x, list(names), list(range(len(names))), [], 1)
    pos, vel = formulations.velocities(x, dt, s.derivative, s.window)
    n = len(names)
    return formulations.Trajectory(t, np.hstack([pos, vel]), list(names) + [f"{v}_t" for v in names],
                                   list(range(n)), list(range(n, 2 * n)), 2)


def _library(s: FitSettings, traj: formulations.Trajectory) -> Library:
    custom = list(s.custom_terms)
    trig_states = None
    if traj.order == 2:
        trig_states = [traj.names[i] for i in traj.positions]
        if Library.from_spec(s.library, traj.names).degree < 1:  # dx/dt = x_t needs the velocity column
            custom = [traj.names[i] for i in traj.velocities] + custom
    return Library.from_spec(s.library, traj.names, custom, trig_states=trig_states)


def _regress(system: formulations.RegressionSystem, names: list[str], targets: list[str],
             s: FitSettings) -> tuple[np.ndarray, dict | None, np.ndarray | None, list[str]]:
    """Coefficients (targets x terms) on the well-conditioned columns, with notes on what was dropped."""
    notes: list[str] = []
    cond = conditioning.check_columns(system.a, names)
    notes += cond.messages()
    keep = cond.keep
    coef = np.zeros((len(targets), len(names)))
    sel_dict, inclusion = None, None
    for _attempt in range(3):
        a = system.a[:, keep]
        kept = [n for n, k in zip(names, keep) if k]
        if system.nuisance is not None:  # remove the nuisance columns' span first (a fixed offset)
            q, _ = np.linalg.qr(system.nuisance)
            a_fit, b_fit = a - q @ (q.T @ a), system.b - q @ (q.T @ system.b)
        else:
            a_fit, b_fit = a, system.b
        if s.select:
            sel = selection.select_supports(system.a[:, keep], system.b, kept, targets, s.criterion, s.max_terms,
                                            s.optimizer, s.alpha, system.nuisance)
            sub = sel.coef
            sel_dict = sel.to_dict(kept)
            notes += sel.messages
        elif s.ensemble > 1:
            sub, incl = regression.ensemble(a_fit, b_fit, s.ensemble, s.seed, s.optimizer, threshold=s.threshold,
                                            alpha=s.alpha, normalize_columns=s.normalize_columns)
            inclusion = np.zeros((len(targets), len(names)))
            inclusion[:, keep] = incl
        else:
            sub = regression.solve(a_fit, b_fit, s.optimizer, threshold=s.threshold, alpha=s.alpha,
                                   normalize_columns=s.normalize_columns)
        big = conditioning.oversized_terms(a_fit, b_fit, sub, kept)
        if not big:
            coef[:, keep] = sub
            break
        for term, why in big.items():
            notes.append(f"dropped {term}: {why}")
            keep = keep & (np.array(names) != term)
    else:
        coef[:, keep] = sub
    return coef, sel_dict, inclusion, notes


def fit_system(t: np.ndarray, x: np.ndarray, names: list[str], settings: FitSettings | None = None,
               truth: dict[str, str] | None = None, tolerance: float = 0.1) -> FitResult:
    """Fit on the first ``train_fraction`` of the samples; extrapolate over the rest."""
    from backend.equations import metrics

    s = (settings or FitSettings()).validate()
    t = np.asarray(t, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if s.degrees:
        x = np.deg2rad(x)
    n_train = round(len(t) * s.train_fraction)
    if n_train < 10:
        raise ValueError(f"only {n_train} training samples; need at least 10")
    notes = ["converted the observed columns from degrees to radians"] if s.degrees else []
    full = _trajectory(t, x, names, s)
    train = formulations.Trajectory(t[:n_train], full.states[:n_train], full.names, full.positions,
                                    full.velocities, full.order)
    library = _library(s, full)
    formulation, why = formulations.choose(train, s.formulation, s.derivative, s.select)
    if why:
        notes.append(f"formulation: {formulation} ({why})")
    t0 = time.perf_counter()
    system = formulations.build(train, library, formulation, s.derivative, s.window)
    target_names = [full.names[i] for i in full.targets]
    coef_t, sel, inclusion, fit_notes = _regress(system, library.feature_names, target_names, s)
    notes += fit_notes
    coef = np.zeros((len(full.names), len(library)))
    coef[full.targets] = coef_t
    for p_col, v_col in zip(full.positions, full.velocities):  # the kinematic identity dx/dt = x_t
        coef[p_col, library.feature_names.index(full.names[v_col])] = 1.0
    if inclusion is not None and full.order == 2:
        incl = np.ones_like(coef)
        incl[full.targets] = inclusion
        inclusion = incl
    fit_seconds = time.perf_counter() - t0
    model = SparseModel(library, coef)
    dt = float(t[1] - t[0])
    xs, dx = derivatives.differentiate(train.states, dt, s.derivative, window=s.window)
    if full.order == 2:
        xs = train.states
        dx = np.hstack([train.states[:, full.velocities],
                        formulations.second_derivative(train.states[:, full.positions], dt, s.derivative, s.window)])
    rows = system.b if system.nuisance is None else system.b - system.nuisance @ np.linalg.lstsq(
        system.nuisance, system.b - system.a @ coef_t.T, rcond=None)[0]
    resid = rows - system.a @ coef_t.T
    m = {"fit_seconds": fit_seconds, "n_terms": int(np.count_nonzero(coef_t)), "n_library": len(library),
         "derivative_r2": float(1 - np.sum(resid ** 2) / max(np.sum((rows - rows.mean(0)) ** 2), 1e-300)),
         "heldout_rel_error": _heldout_error(system, coef_t)}
    prediction = np.empty((0, full.states.shape[1]))
    observed = full.positions
    if n_train < len(t) - 1:
        start = n_train - 1  # from the last training state (smoothed if the derivative smooths)
        prediction = model.simulate(xs[start], t[start:])
        m.update(metrics.extrapolation_metrics(t[start:], full.states[start:, observed], prediction[:, observed],
                                               tolerance))
    if truth:
        m.update(metrics.coefficient_error(model, truth))
    states = np.vstack([xs, full.states[n_train:]])
    return FitResult(model, s, t, states, dx, n_train, prediction, m, sel, inclusion, notes, formulation, system,
                     train)


def _heldout_error(system: formulations.RegressionSystem, coef: np.ndarray) -> float:
    """Cross-validated error of the chosen supports (refitted per fold), relative to the targets' size.

    The score of a model when there is no held-out stretch of time to extrapolate over."""
    n = len(system.b)
    folds = None if n <= selection.LOO_MAX_ROWS else 10
    extra = np.zeros((n, 0)) if system.nuisance is None else system.nuisance
    err = den = 0.0
    for i in range(system.b.shape[1]):
        design = np.column_stack([system.a[:, coef[i] != 0], extra])
        err += float(np.sum(selection.cv_errors(design, system.b[:, i], folds)))
        den += float(np.sum((system.b[:, i] - system.b[:, i].mean()) ** 2))
    return float(np.sqrt(err / max(den, 1e-300)))
