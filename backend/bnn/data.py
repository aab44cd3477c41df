"""Data for the binary-network lab: scikit-learn's built-in sets and user ``.npz`` files.

A ``.npz`` holds ``X`` (N×features, or N×H×W or N×H×W×C images) and ``y`` (N class ids 0..K−1).
Everything that would make training meaningless is refused with one line naming the file:
missing keys, wrong shapes, non-finite values, labels that are not whole numbers in range, and a
single class. The split is stratified and seeded; features are standardised with the training
statistics (per feature for vectors, one mean and std for images).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

BUILTIN = ("digits", "iris", "wine", "breast_cancer")
MAX_CLASSES = 1000


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray    # float32, (N, F) or (N, C, H, W)
    y_train: np.ndarray    # int64
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def _builtin(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    loader = getattr(datasets, f"load_{name}")
    bunch = loader()
    return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target)


def load_arrays(source: str) -> tuple[np.ndarray, np.ndarray, str]:
    """(X, y, name) of a built-in set or an ``.npz`` file, validated; ValueError names the file."""
    if source in BUILTIN:
        x, y = _builtin(source)
        return x, y.astype(np.int64), source
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"{source}: no such file (built-in data sets: {', '.join(BUILTIN)})")
    try:
        with np.load(path, allow_pickle=False) as npz:
            files = list(npz.files)
            arrays = {k: npz[k] for k in ("X", "y") if k in files}
    except Exception as exc:  # noqa: BLE001 - zip/pickle/format errors all mean "not a usable .npz"
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{path}: not a readable .npz file ({why})") from None
    missing = [k for k in ("X", "y") if k not in arrays]
    if missing:
        raise ValueError(f"{path}: missing key(s) {', '.join(missing)} (found: {', '.join(files) or 'none'}); "
                         "expected X (N×features or N×H×W[×C]) and y (class ids)")
    x, y = arrays["X"], arrays["y"]
    return _validate(x, y, str(path)) + (path.stem,)


def _validate(x: np.ndarray, y: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{where}: X must be numeric (got dtype {x.dtype})")
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"{where}: X must be N×features, N×H×W or N×H×W×C (got shape {x.shape})")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"{where}: y must be a vector of {x.shape[0]} class ids, one per row of X "
                         f"(got shape {y.shape})")
    if x.shape[0] < 4:
        raise ValueError(f"{where}: only {x.shape[0]} samples; need at least 4")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).reshape(x.shape[0], -1).any(axis=1).sum())
        raise ValueError(f"{where}: X has NaN or infinite values in {bad} sample(s)")
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{where}: y must hold integer class ids (got dtype {y.dtype})")
    yf = y.astype(np.float64)
    if not np.isfinite(yf).all() or (yf != np.round(yf)).any():
        raise ValueError(f"{where}: y must hold whole-number class ids (found NaN or fractions)")
    if yf.min() < 0 or yf.max() >= MAX_CLASSES:
        raise ValueError(f"{where}: labels out of range: ids must be 0..{MAX_CLASSES - 1} "
                         f"(found {int(yf.min())}..{int(yf.max())})")
    y = yf.astype(np.int64)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(f"{where}: only one class ({int(classes[0])}) in y; a classifier needs at least 2")
    return x, y


def prepare(source: str, seed: int, test_fraction: float = 0.2) -> Dataset:
    """Load, split (stratified where every class has 2+ samples) and standardise."""
    from sklearn.model_selection import train_test_split

    x, y, name = load_arrays(source)
    if x.ndim == 3:
        x = x[:, None]                                   # N×H×W -> N×1×H×W
    elif x.ndim == 4:
        x = np.transpose(x, (0, 3, 1, 2))                # N×H×W×C -> N×C×H×W
    counts = np.bincount(y)
    strat = y if counts[counts > 0].min() >= 2 else None
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=strat)
    if x.ndim == 2:
        mu, sd = xtr.mean(axis=0), xtr.std(axis=0)
    else:
        mu, sd = xtr.mean(), xtr.std()
    sd = np.where(sd > 1e-8, sd, 1.0)
    f32 = np.float32
    return Dataset(name, ((xtr - mu) / sd).astype(f32), ytr, ((xte - mu) / sd).astype(f32), yte, int(y.max()) + 1)
