"""The regression problem ``A c = b`` built three ways from one trajectory.

* ``derivative`` — SINDy as published: b is the estimated time derivative at each sample.
  Accurate on long, clean records; noise is amplified by 1/dt (1/dt² for second order).
* ``integral`` — integral SINDy (Schaeffer & McCalla 2017): b = y(t_i) − y(t_0) and
  A = ∫ Θ(x) dt from t_0 to t_i. No derivative of the data is taken, so noise is not amplified;
  the unknown y(t_0) is a nuisance column of ones. Best for very short records.
* ``weak`` — weak SINDy (Messenger & Bortz 2021): each row integrates the equation against a
  smooth bump φ_k that vanishes at both ends of its window, and integration by parts moves the
  derivative onto φ: ∫ φ ẏ = −∫ φ' y, and for second order ∫ φ ÿ = ∫ φ'' x, which needs no
  velocity at all. Library terms that are a velocity alone are integrated by parts too.

Quadrature: short records are refined with a cubic spline through the samples (10 sub-steps per
interval) before the trapezoid rule, so a 20-point record is not integrated with 20 trapezoids.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import cumulative_trapezoid, trapezoid
from scipy.interpolate import CubicSpline

from backend.equations import derivatives
from backend.equations.library import Library
from backend.equations.settings import FORMULATIONS

SHORT_RECORD = 60          # fewer samples than this: derivatives are unreliable, use the integral form
NOISY_ROUGHNESS = 0.25     # finite differences this far from a smoothed derivative: use the weak form


@dataclass
class RegressionSystem:
    a: np.ndarray                 # (rows, n_terms)
    b: np.ndarray                 # (rows, n_targets)
    nuisance: np.ndarray | None   # extra columns fitted but never reported
    formulation: str
    reason: str = ""


@dataclass
class Trajectory:
    """States of a fit: observed positions, plus estimated velocities for second order."""

    t: np.ndarray
    states: np.ndarray            # (n, n_states) as used in the library
    names: list[str]
    positions: list[int]          # columns that are observed
    velocities: list[int]         # for second order: the estimated velocity of each observed column
    order: int

    @property
    def targets(self) -> list[int]:
        """Columns whose derivative is regressed (second order: the velocities)."""
        return self.velocities if self.order == 2 else list(range(len(self.names)))


def _refine(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A fine grid, the spline-interpolated values on it, and the indices of the samples in it."""
    sub = 10 if len(t) <= 2000 else 1
    if sub == 1:
        return t, y, np.arange(len(t))
    fine = np.linspace(t[0], t[-1], (len(t) - 1) * sub + 1)
    return fine, CubicSpline(t, y, axis=0)(fine), np.arange(len(t)) * sub


def choose(traj: Trajectory, requested: str, method: str, select: bool) -> tuple[str, str]:
    """The formulation to use and why. ``auto``: integral for short records; with selection, weak
    for rough finite differences; otherwise the derivative form (SINDy as published)."""
    if requested not in FORMULATIONS:
        raise ValueError(f"unknown formulation {requested!r} (choose from {', '.join(FORMULATIONS)})")
    if requested != "auto":
        return requested, ""
    n = len(traj.t)
    if n < SHORT_RECORD:
        return "integral", f"only {n} samples: derivatives of so short a record are unreliable"
    if not select or method != "finite_difference":
        return "derivative", ""
    y = traj.states[:, traj.positions]
    dt = float(traj.t[1] - traj.t[0])
    fd = derivatives.finite_difference(y, dt)
    _, sg = derivatives.savgol(y, dt, window=min(21, n - (1 - n % 2)))
    rough = float(np.linalg.norm(fd - sg) / max(float(np.linalg.norm(sg)), 1e-300))
    if rough > NOISY_ROUGHNESS:
        return "weak", f"finite differences differ from a smoothed derivative by {100 * rough:.0f}%: noisy data"
    return "derivative", f"{n} samples, finite differences within {100 * rough:.0f}% of a smoothed derivative"


def derivative_system(traj: Trajectory, library: Library, method: str, window: int) -> RegressionSystem:
    dt = float(traj.t[1] - traj.t[0])
    if traj.order == 1:
        xs, dx = derivatives.differentiate(traj.states, dt, method, window=window)
        return RegressionSystem(library.transform(xs), dx, None, "derivative")
    accel = second_derivative(traj.states[:, traj.positions], dt, method, window)
    return RegressionSystem(library.transform(traj.states), accel, None, "derivative")


def second_derivative(p: np.ndarray, dt: float, method: str, window: int) -> np.ndarray:
    if method == "savgol":
        from scipy.signal import savgol_filter

        w = min(window, len(p) - (1 - len(p) % 2))
        return savgol_filter(p, w, 3, deriv=2, delta=dt, axis=0, mode="interp")
    if method == "spectral":
        return derivatives.spectral(derivatives.spectral(p, dt), dt, check_periodic=False)
    return derivatives.finite_difference(derivatives.finite_difference(p, dt), dt)


def integral_system(traj: Trajectory, library: Library) -> RegressionSystem:
    fine, states, at = _refine(traj.t, traj.states)
    cum = cumulative_trapezoid(library.transform(states), fine, axis=0, initial=0.0)[at]
    y = traj.states[:, traj.targets]
    return RegressionSystem(np.diff(cum, axis=0), np.diff(y, axis=0), None, "integral")


def _bumps(t: np.ndarray, n_rows: int, width: float, power: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test functions φ_k = (s(1−s))^p on overlapping windows, with φ' and φ'' (rows × len(t))."""
    lo, hi = t[0], t[-1]
    starts = np.linspace(lo, hi - width, n_rows)
    phi, d1, d2 = (np.zeros((n_rows, len(t))) for _ in range(3))
    for k, a in enumerate(starts):
        s = (t - a) / width
        inside = (s > 0) & (s < 1)
        u = s[inside] * (1 - s[inside])
        du = (1 - 2 * s[inside]) / width
        phi[k, inside] = u ** power
        d1[k, inside] = power * u ** (power - 1) * du
        d2[k, inside] = power * (power - 1) * u ** (power - 2) * du ** 2 + power * u ** (power - 1) * (-2 / width ** 2)
    scale = trapezoid(phi, t, axis=1)[:, None]
    return phi / scale, d1 / scale, d2 / scale


def _trapezoid_weights(t: np.ndarray) -> np.ndarray:
    """w with ``w @ f == trapezoid(f, t)``, so many integrals are one matrix product."""
    h = np.diff(t)
    w = np.zeros(len(t))
    w[:-1] += h / 2
    w[1:] += h / 2
    return w


def weak_system(traj: Trajectory, library: Library) -> RegressionSystem:
    fine, states, _ = _refine(traj.t, traj.states)
    n = len(traj.t)
    span = float(traj.t[-1] - traj.t[0])
    width = span * min(0.5, max(8.0 / n, 0.1))
    n_rows = int(min(max(2 * len(library), 3 * span / width), max(n, 2 * len(library)), 400))
    phi, d1, d2 = _bumps(fine, n_rows, width)
    w = _trapezoid_weights(fine)
    phi, d1, d2 = phi * w, d1 * w, d2 * w
    a = phi @ library.transform(states)
    if traj.order == 1:
        b = -(d1 @ states)
    else:
        b = d2 @ states[:, traj.positions]
        for j, term in enumerate(library.terms):  # a velocity alone: integrate by parts, no estimate needed
            for p_col, v_col in zip(traj.positions, traj.velocities):
                if term.expr == library.syms[v_col]:
                    a[:, j] = -(d1 @ states[:, p_col])
    return RegressionSystem(a, b, None, "weak")


def build(traj: Trajectory, library: Library, formulation: str, method: str, window: int) -> RegressionSystem:
    """The regression system of ``formulation`` (already resolved from ``auto``)."""
    if formulation == "derivative":
        return derivative_system(traj, library, method, window)
    if formulation == "integral":
        return integral_system(traj, library)
    if formulation == "weak":
        return weak_system(traj, library)
    raise ValueError(f"unknown formulation {formulation!r}")


def velocities(p: np.ndarray, dt: float, method: str, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions as used, velocity estimates) for second-order fits."""
    return derivatives.differentiate(p, dt, method, window=window)
