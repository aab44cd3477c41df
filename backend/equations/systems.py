"""Built-in systems with known equations, simulated with scipy, with settable noise.

Each system has its true right-hand side as sympy-syntax strings (used to score recovered
coefficients) and a numeric right-hand side for integration. Noise is Gaussian with standard
deviation ``noise`` times each state's own standard deviation, so "1 % noise" means the same
thing for every system. The high-dimensional system is a rendered pendulum (Champion et al.
2019): 51x51 frames of a Gaussian blob swinging on a rod, where coordinates must be found first.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp


@dataclass(frozen=True)
class System:
    name: str
    names: tuple[str, ...]
    truth: dict[str, str]
    rhs: Callable[[float, np.ndarray], np.ndarray]
    x0: tuple[float, ...]
    dt: float
    t_end: float
    library: str = "poly3"
    description: str = ""
    fit_defaults: dict = field(default_factory=dict)


def _lorenz(_t: float, s: np.ndarray) -> np.ndarray:
    x, y, z = s
    return np.array([10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z])


def _vdp(_t: float, s: np.ndarray) -> np.ndarray:
    x, y = s
    return np.array([y, 0.5 * (1 - x * x) * y - x])


def _duffing(_t: float, s: np.ndarray) -> np.ndarray:
    x, y = s
    return np.array([y, -0.2 * y - 0.05 * x - x ** 3])


def _pendulum(_t: float, s: np.ndarray) -> np.ndarray:
    th, om = s
    return np.array([om, -9.81 * np.sin(th) - 0.5 * om])


def _lv(_t: float, s: np.ndarray) -> np.ndarray:
    x, y = s
    return np.array([2 / 3 * x - 4 / 3 * x * y, x * y - y])


def _sir(_t: float, s: np.ndarray) -> np.ndarray:
    S, I = s  # noqa: E741 - the SIR model's own names (susceptible, infected)
    return np.array([-0.3 * S * I, 0.3 * S * I - 0.1 * I])


SYSTEMS: dict[str, System] = {s.name: s for s in (
    System("lorenz", ("x", "y", "z"), {"x": "-10*x + 10*y", "y": "28*x - y - x*z", "z": "x*y - 8/3*z"},
           _lorenz, (-8.0, 8.0, 27.0), 0.002, 20.0, "poly3", "Lorenz (sigma 10, rho 28, beta 8/3)",
           {"threshold": 0.1}),
    System("vanderpol", ("x", "y"), {"x": "y", "y": "-x + 0.5*y - 0.5*x^2*y"}, _vdp, (2.0, 0.0), 0.002, 20.0,
           "poly3", "Van der Pol (mu 0.5)", {"threshold": 0.1}),
    System("duffing", ("x", "y"), {"x": "y", "y": "-0.2*y - 0.05*x - x^3"}, _duffing, (1.0, 0.0), 0.002, 20.0,
           "poly3", "unforced Duffing (delta 0.2, alpha 0.05, beta 1)", {"threshold": 0.01}),
    System("pendulum", ("theta", "omega"), {"theta": "omega", "omega": "-9.81*sin(theta) - 0.5*omega"},
           _pendulum, (2.5, 0.0), 0.002, 10.0, "poly1+trig1", "damped pendulum (g/l 9.81, c 0.5)",
           {"threshold": 0.1}),
    System("lotka_volterra", ("x", "y"), {"x": "2/3*x - 4/3*x*y", "y": "x*y - y"}, _lv, (1.8, 1.8), 0.002, 20.0,
           "poly2", "Lotka-Volterra (alpha 2/3, beta 4/3, delta 1, gamma 1)", {"threshold": 0.1}),
    System("sir", ("S", "I"), {"S": "-0.3*S*I", "I": "0.3*S*I - 0.1*I"}, _sir, (0.99, 0.01), 0.05, 100.0,
           "poly2", "SIR as fractions (beta 0.3, gamma 0.1; R = 1 - S - I is left out: it makes the "
           "library collinear)", {"threshold": 0.02}),
)}
HIGH_DIM = ("pendulum_video",)


def simulate(name: str, noise: float = 0.0, seed: int = 0, t_end: float | None = None, dt: float | None = None,
             x0: tuple[float, ...] | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Integrate system ``name`` (rtol 1e-10) and add relative Gaussian noise."""
    if name not in SYSTEMS:
        raise ValueError(f"unknown system {name!r} (choose from {', '.join(list(SYSTEMS) + list(HIGH_DIM))})")
    s = SYSTEMS[name]
    dt, t_end = dt or s.dt, t_end or s.t_end
    t = np.arange(0.0, t_end + dt / 2, dt)
    sol = solve_ivp(s.rhs, (t[0], t[-1]), np.array(x0 or s.x0, dtype=np.float64), t_eval=t, method="LSODA",
                    rtol=1e-10, atol=1e-10)
    x = sol.y.T
    if noise:
        rng = np.random.default_rng(seed)
        x = x + rng.normal(size=x.shape) * noise * x.std(axis=0)
    return t, x, list(s.names)


def render_pendulum(theta: np.ndarray, size: int = 51, length: float = 0.35, sigma: float = 0.06) -> np.ndarray:
    """Frames (n, size, size) of a Gaussian blob at the bob of a pendulum hung from the centre.

    Image rows grow downwards, so the bob hangs below the pivot at theta = 0."""
    grid = np.linspace(-0.5, 0.5, size)
    gx, gy = np.meshgrid(grid, grid)
    bx = length * np.sin(theta)[:, None, None]
    by = length * np.cos(theta)[:, None, None]
    return np.exp(-((gx - bx) ** 2 + (gy - by) ** 2) / (2 * sigma ** 2))


def pendulum_video(noise: float = 0.0, seed: int = 0, t_end: float = 10.0, dt: float = 0.02, size: int = 51,
                   theta0: float = 2.0, damping: float = 0.1) -> dict:
    """The high-dimensional system: frames of theta'' = -9.81 sin(theta) - damping theta'.

    Returns frames, time, the hidden true angle and the truth (for scoring only)."""
    def rhs(_t: float, s: np.ndarray) -> np.ndarray:
        return np.array([s[1], -9.81 * np.sin(s[0]) - damping * s[1]])

    t = np.arange(0.0, t_end + dt / 2, dt)
    sol = solve_ivp(rhs, (0, t[-1]), [theta0, 0.0], t_eval=t, method="LSODA", rtol=1e-10, atol=1e-10)
    frames = render_pendulum(sol.y[0], size)
    if noise:
        frames = frames + np.random.default_rng(seed).normal(size=frames.shape) * noise * frames.std()
    return {"t": t, "frames": frames, "theta": sol.y[0], "omega": sol.y[1],
            "truth": {"theta": "omega", "omega": f"-9.81*sin(theta) - {damping}*omega"}}
