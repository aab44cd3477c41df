"""Loading time-series data (CSV, NPZ, image stacks) with checks that name the problem.

Equation discovery silently goes wrong on bad input: a NaN poisons every least-squares solve, a
non-uniform clock breaks the finite-difference stencils, and a transposed array turns 3 states
x 1000 samples into 1000 states. So every loader validates and raises ``ValueError`` naming the
file, the column/array and the first offending row.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np

TIME_NAMES = ("t", "time", "times", "timestamp")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass
class Dataset:
    """A uniformly sampled trajectory: ``x`` is (n_samples, n_states), ``t`` is (n_samples,).

    ``frames`` holds the raw high-dimensional observations (n_samples, H, W) when the data came
    from an image stack; ``x`` is then the flattened frames until coordinates are found.
    """

    t: np.ndarray
    x: np.ndarray
    names: list[str]
    source: str = ""
    frames: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def dt(self) -> float:
        return float(self.t[1] - self.t[0])


def _fail(source: str, what: str) -> NoReturn:
    raise ValueError(f"{source}: {what}")


def check_time(t: np.ndarray, source: str, rtol: float = 1e-3) -> float:
    """Return the step of a uniform, increasing clock or raise naming the first bad row."""
    t = np.asarray(t, dtype=np.float64)
    if t.ndim != 1:
        _fail(source, f"time must be 1-D, got shape {t.shape}")
    if len(t) < 5:
        _fail(source, f"need at least 5 samples, got {len(t)}")
    if not np.all(np.isfinite(t)):
        _fail(source, f"time column has NaN/inf at row {int(np.flatnonzero(~np.isfinite(t))[0])}")
    d = np.diff(t)
    if np.any(d <= 0):
        _fail(source, f"time is not strictly increasing at row {int(np.flatnonzero(d <= 0)[0]) + 1}")
    dt = float(np.median(d))
    bad = np.flatnonzero(np.abs(d - dt) > rtol * dt)
    if len(bad):
        i = int(bad[0])
        _fail(source, f"time is not uniformly sampled: step {d[i]:.6g} at row {i + 1} vs median {dt:.6g} "
                      "(resample to a uniform grid first)")
    return dt


def check_states(x: np.ndarray, source: str, names: list[str] | None = None, frames: bool = False) -> np.ndarray:
    """Return ``x`` as float64 (n_samples, n_states); raise on NaN/inf or an implausible shape."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        _fail(source, f"states must be 2-D (samples x states), got shape {x.shape}")
    if not frames and x.shape[0] < x.shape[1] and x.shape[1] > 50 and x.shape[0] <= 50:
        _fail(source, f"states have shape {x.shape}: more states than samples; did you mean the transpose "
                      f"({x.shape[1]} samples x {x.shape[0]} states)?")
    bad = ~np.isfinite(x)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        col = names[c] if names and c < len(names) else f"column {c}"
        _fail(source, f"NaN or inf in {col} at row {r} ({int(bad.sum())} bad values in all); "
                      "drop or interpolate them first")
    return x


def _time_axis(n: int, sample_rate: float | None, source: str) -> np.ndarray:
    if not sample_rate or sample_rate <= 0:
        _fail(source, "no time column ('t' or 'time') and no sample rate given (use --sample-rate)")
    return np.arange(n, dtype=np.float64) / float(sample_rate)


def load_csv(path: Path, time_column: str | None = None, sample_rate: float | None = None) -> Dataset:
    source = str(path)
    try:  # utf-8-sig: spreadsheets write a byte-order mark before the header
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(line for line in f if not line.startswith("#")))
    except UnicodeDecodeError as exc:
        _fail(source, f"not a text CSV file (byte {exc.start} is not UTF-8; is it a binary or spreadsheet file?)")
    except csv.Error as exc:
        _fail(source, f"not a CSV file ({exc})")
    if not rows:
        _fail(source, "file is empty")
    header = [h.strip() for h in rows[0]]
    if all(_is_number(h) for h in header):
        _fail(source, "first line must be a header with column names (e.g. t,x,y,z)")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        _fail(source, f"duplicate column name(s) {', '.join(map(repr, dupes))} in the header; names must be unique")
    body = rows[1:]
    for i, row in enumerate(body):
        if len(row) != len(header):
            _fail(source, f"line {i + 2} has {len(row)} fields, header has {len(header)}")
    try:
        table = np.array([[float(v) if v.strip() else np.nan for v in row] for row in body], dtype=np.float64)
    except ValueError as exc:
        _fail(source, f"non-numeric value ({exc})")
    if table.ndim != 2 or table.shape[0] == 0:
        _fail(source, "no data rows")
    lower = [h.lower() for h in header]
    tcol = (lower.index(time_column.lower()) if time_column
            else next((lower.index(n) for n in TIME_NAMES if n in lower), None))
    if time_column and time_column.lower() not in lower:
        _fail(source, f"time column {time_column!r} not in header {header}")
    cols = [i for i in range(len(header)) if i != tcol]
    if not cols:
        _fail(source, "no state columns besides time")
    names = [header[i] for i in cols]
    x = check_states(table[:, cols], source, names)
    t = table[:, tcol] if tcol is not None else _time_axis(len(x), sample_rate, source)
    check_time(t, source)
    return Dataset(t=t, x=x, names=names, source=source)


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def load_npz(path: Path, sample_rate: float | None = None) -> Dataset:
    """NPZ with ``x`` (samples x states) or ``frames`` (samples x H x W), plus ``t`` or ``dt``."""
    source = str(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError) as exc:
        _fail(source, f"not a readable NPZ file ({exc})")
    frames = None
    if "frames" in arrays:
        frames = np.asarray(arrays["frames"], dtype=np.float64)
        if frames.ndim != 3:
            _fail(source, f"array 'frames' must be (samples, height, width), got shape {frames.shape}")
        x = check_states(frames.reshape(len(frames), -1), source + " (frames)", frames=True)
    elif "x" in arrays:
        names = [str(n) for n in arrays["names"]] if "names" in arrays else None
        x = check_states(arrays["x"], source + " array 'x'", names)
    else:
        _fail(source, f"needs an array 'x' (samples x states) or 'frames'; found {sorted(arrays)}")
    if "t" in arrays:
        t = np.asarray(arrays["t"], dtype=np.float64)
        if t.shape != (len(x),):
            _fail(source, f"array 't' has shape {t.shape} but there are {len(x)} samples")
    elif "dt" in arrays:
        t = np.arange(len(x), dtype=np.float64) * float(arrays["dt"])
    else:
        t = _time_axis(len(x), sample_rate, source)
    check_time(t, source)
    if frames is not None:
        names = [f"p{i}" for i in range(x.shape[1])]
    else:
        names = [str(n) for n in arrays["names"]] if "names" in arrays else [f"x{i}" for i in range(x.shape[1])]
    if len(names) != x.shape[1]:
        _fail(source, f"'names' has {len(names)} entries for {x.shape[1]} states")
    return Dataset(t=t, x=x, names=names, source=source, frames=frames)


def load_images(folder: Path, sample_rate: float | None) -> Dataset:
    """A folder of equally sized grayscale frames, sorted by name, read with matplotlib."""
    import matplotlib.image as mpimg

    source = str(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < 5:
        _fail(source, f"needs at least 5 image frames ({', '.join(IMAGE_SUFFIXES)}), found {len(files)}")
    frames: list[np.ndarray] = []
    for p in files:
        img = np.asarray(mpimg.imread(p), dtype=np.float64)
        if img.ndim == 3:
            img = img[..., :3].mean(axis=2)
        if frames and img.shape != frames[0].shape:
            _fail(source, f"frame {p.name} is {img.shape}, the first frame is {frames[0].shape}")
        frames.append(img)
    arr = np.stack(frames)
    x = check_states(arr.reshape(len(arr), -1), source, frames=True)
    t = _time_axis(len(arr), sample_rate, source)
    return Dataset(t=t, x=x, names=[f"p{i}" for i in range(x.shape[1])], source=source, frames=arr)


def load_data(path: str | Path, time_column: str | None = None, sample_rate: float | None = None) -> Dataset:
    """Load ``path`` (CSV, NPZ or a folder of image frames); never writes to it."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or folder")
    if p.is_dir():
        return load_images(p, sample_rate)
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt"):
        return load_csv(p, time_column, sample_rate)
    if suffix == ".npz":
        return load_npz(p, sample_rate)
    raise ValueError(f"{p}: unsupported format {suffix!r} (use .csv, .npz or a folder of image frames)")


def to_csv_text(t: np.ndarray, x: np.ndarray, names: list[str]) -> str:
    """CSV text with a ``t`` column, full float precision (repr) so re-loading is exact."""
    lines = [",".join(["t", *names])]
    for ti, row in zip(t, x):
        lines.append(",".join(repr(float(v)) for v in (ti, *row)))
    return "\n".join(lines) + "\n"
