"""Time derivatives of sampled states: finite differences, Savitzky–Golay, spectral.

SINDy regresses dx/dt on candidate terms, so derivative error becomes coefficient error.
Plain second-order finite differences are exact enough on clean data (and match PySINDy's
default, so results can be compared). Noise is amplified by 1/dt, so noisy data wants the
Savitzky–Golay estimate (a local cubic fit). Spectral differentiation is exact to machine
precision for smooth periodic signals but rings on non-periodic ones, so it checks periodicity.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import savgol_filter

from backend.equations.settings import DERIVATIVES as METHODS


def finite_difference(x: np.ndarray, dt: float) -> np.ndarray:
    """Second-order central differences, second-order one-sided at both ends."""
    return np.gradient(np.asarray(x, dtype=np.float64), dt, axis=0, edge_order=2)


def savgol(x: np.ndarray, dt: float, window: int = 11, order: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Savitzky–Golay smoothed states and their derivative (same local polynomial fit)."""
    x = np.asarray(x, dtype=np.float64)
    window = min(window, len(x) - (1 - len(x) % 2))
    if window <= order:
        raise ValueError(f"Savitzky–Golay window {window} must exceed the polynomial order {order}")
    smooth = savgol_filter(x, window, order, axis=0, mode="interp")
    deriv = savgol_filter(x, window, order, deriv=1, delta=dt, axis=0, mode="interp")
    return smooth, deriv


def spectral(x: np.ndarray, dt: float, check_periodic: bool = True) -> np.ndarray:
    """FFT derivative; refuses signals whose ends do not meet (they would ring)."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if check_periodic:
        span = np.ptp(x, axis=0) + 1e-300
        jump = np.abs(x[0] - (2 * x[-1] - x[-2])) / span
        if np.any(jump > 0.05):
            raise ValueError("spectral derivative needs periodic data (the signal's ends do not match); "
                             "use finite_difference or savgol")
    k = 2j * np.pi * np.fft.rfftfreq(n, d=dt)
    if n % 2 == 0:
        k[-1] = 0.0  # the Nyquist mode's derivative is not representable
    return np.fft.irfft(k[:, None] * np.fft.rfft(x, axis=0), n=n, axis=0)


def differentiate(x: np.ndarray, dt: float, method: str = "finite_difference", window: int = 11,
                  order: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(states_used, derivative)``; savgol also returns the smoothed states."""
    if method == "finite_difference":
        return np.asarray(x, dtype=np.float64), finite_difference(x, dt)
    if method == "savgol":
        return savgol(x, dt, window, order)
    if method == "spectral":
        return np.asarray(x, dtype=np.float64), spectral(x, dt)
    raise ValueError(f"unknown derivative method {method!r} (choose from {', '.join(METHODS)})")
