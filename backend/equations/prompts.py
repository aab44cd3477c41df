"""Visual prompts: plots rendered to PNG for a (multimodal) model to read.

Made for a reader that estimates values from pixels: every axis labelled with units, major and
minor grids, readable tick labels, one quantity per panel, a vertical line where training ends,
and residuals drawn against each state (a sine-shaped residual against theta says "add
sin(theta)"). Frames get a labelled pixel grid and the tracked points replayed as red dots
(the paper's "spatial measurement" and "plot replayer" prompts). Matplotlib's Agg canvas is
used directly (no pyplot), so rendering is thread-safe and needs no display.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from backend.workspace.atomic import atomic_write_bytes


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return atomic_write_bytes(path, buf.getvalue())


def _grid(ax) -> None:
    ax.minorticks_on()
    ax.grid(True, which="major", alpha=0.6)
    ax.grid(True, which="minor", alpha=0.2)


def time_series(path: Path, t: np.ndarray, x: np.ndarray, names: list[str], t_split: float | None = None,
                pred_t: np.ndarray | None = None, pred: np.ndarray | None = None, title: str = "") -> Path:
    """One panel per state: data (black), model simulation (red dashed), training end (blue)."""
    n = x.shape[1]
    fig = Figure(figsize=(8, 1.9 * n + 0.6))
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    for i, ax in enumerate(axes):
        ax.plot(t, x[:, i], color="black", lw=1.0, label="data")
        if pred is not None and len(pred):
            ax.plot(pred_t, pred[:, i], color="tab:red", lw=1.3, ls="--", label="model")
        if t_split is not None:
            ax.axvline(t_split, color="tab:blue", lw=1.0, label="end of training")
        ax.set_ylabel(names[i])
        _grid(ax)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("time t")
    fig.suptitle(title or "states over time", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def phase_portrait(path: Path, x: np.ndarray, names: list[str], pred: np.ndarray | None = None) -> Path:
    """State pairs against each other (up to three pairs)."""
    pairs = [(0, 1), (0, 2), (1, 2)] if x.shape[1] >= 3 else [(0, 1)] if x.shape[1] == 2 else []
    if not pairs:
        pairs = [(0, 0)]
    fig = Figure(figsize=(3.4 * len(pairs), 3.4))
    for k, (i, j) in enumerate(pairs):
        ax = fig.add_subplot(1, len(pairs), k + 1)
        ax.plot(x[:, i], x[:, j], color="black", lw=0.6)
        if pred is not None and len(pred):
            ax.plot(pred[:, i], pred[:, j], color="tab:red", lw=0.8, ls="--")
        ax.set_xlabel(names[i])
        ax.set_ylabel(names[j])
        _grid(ax)
    fig.suptitle("phase portrait (black data, red model)", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def residuals(path: Path, x: np.ndarray, dx: np.ndarray, fit: np.ndarray, names: list[str]) -> Path:
    """Rows: equations; columns: residual (measured - model derivative) against each state."""
    n = x.shape[1]
    res = dx - fit
    fig = Figure(figsize=(3.0 * n + 0.5, 2.4 * n + 0.6))
    axes = fig.subplots(n, n, squeeze=False)
    step = max(1, len(x) // 2000)
    for i in range(n):
        for j in range(n):
            ax = axes[i, j]
            ax.scatter(x[::step, j], res[::step, i], s=2, color="tab:purple")
            ax.axhline(0, color="black", lw=0.6)
            ax.set_xlabel(names[j], fontsize=8)
            ax.set_ylabel(f"residual d{names[i]}/dt", fontsize=8)
            ax.tick_params(labelsize=7)
            _grid(ax)
    fig.suptitle("derivative residuals against each state", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def frames_grid(path: Path, frames: np.ndarray, points: np.ndarray | None = None, n_show: int = 4) -> Path:
    """A few frames with a labelled pixel grid; tracked positions replayed as red dots."""
    idx = np.linspace(0, len(frames) - 1, n_show).astype(int)
    fig = Figure(figsize=(3.0 * n_show, 3.2))
    for k, i in enumerate(idx):
        ax = fig.add_subplot(1, n_show, k + 1)
        ax.imshow(frames[i], cmap="gray", origin="upper")
        h, w = frames[i].shape
        ax.set_xticks(np.arange(0, w, 10))
        ax.set_yticks(np.arange(0, h, 10))
        ax.grid(True, color="yellow", alpha=0.4, lw=0.5)
        ax.tick_params(labelsize=7)
        if points is not None:
            ax.plot(points[i, 0], points[i, 1], "o", color="red", ms=4)
        ax.set_title(f"frame {i}", fontsize=9)
    fig.suptitle("frames (pixel grid; red: tracked position)", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def render_round(folder: Path, t: np.ndarray, x: np.ndarray, names: list[str], n_train: int, dx: np.ndarray,
                 fit: np.ndarray, prediction: np.ndarray) -> dict[str, str]:
    """The standard set for one proposer round; returns {name: path}."""
    folder = Path(folder)
    start = n_train - 1
    pred_t = t[start: start + len(prediction)]
    return {
        "time_series": str(time_series(folder / "time_series.png", t, x, names, t[start], pred_t, prediction,
                                       "data (black) and model extrapolation (red) past the training end")),
        "phase": str(phase_portrait(folder / "phase.png", x, names, prediction)),
        "residuals": str(residuals(folder / "residuals.png", x[:n_train], dx, fit, names)),
    }
