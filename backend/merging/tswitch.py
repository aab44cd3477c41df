"""T-Switch (arXiv 2412.00054): a task vector as activation mask, polarity signs and a knob.

Per tensor with one or more dimensions, positive and negative entries are thresholded
separately with one drop ratio r (every entry at or above the threshold is kept, so ties
survive); S = sign of what is kept, in {-1, 0, +1}; the knob is the RMS of the kept entries, so
||knob*S|| = ||kept||. 0-dim tensors are kept whole. Packing follows the reference's storage
scheme in groups of 4: one flag bit per group, then 4 mask bits and one sign bit per non-zero
entry for the groups that have any; the size we report is the file's size on disk.
``knob="row"`` (an option, not the reference) stores one knob per matrix row instead.

Packed files verify themselves: ``tswitch.json`` records each task file's SHA-256 and a CRC-32
per tensor (over its arrays in name order), checked before any switch is decoded, so a damaged
file fails naming the tensor instead of silently changing weights; knobs and kept scalars must
be finite and plausible (|x| <= 1e4).
"""
from __future__ import annotations

import hashlib
import json
import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch

if TYPE_CHECKING:
    from backend.models.tensors import TensorEntry

GROUP = 4
FORMAT = "benchtop-tswitch/1"
VALUE_LIMIT = 1e4  # |knob| or |kept scalar| above this is no task vector


def _tensor_crc(arrays: dict[str, np.ndarray], name: str) -> int:
    c = 0
    for key in sorted(k for k in arrays if k.rsplit("::", 1)[0] == name):
        c = zlib.crc32(np.ascontiguousarray(arrays[key]).tobytes(), c)
    return c


def _check_value(path: Path, name: str, what: str, v: np.ndarray) -> None:
    if v.size and not np.isfinite(v).all():
        raise ValueError(f"{path}: tensor {name}: {what} is not finite (damaged or forged file)")
    if v.size and float(np.abs(v).max()) > VALUE_LIMIT:
        raise ValueError(f"{path}: tensor {name}: {what} reaches {float(np.abs(v).max()):.3g}, outside the "
                         f"plausible range ±{VALUE_LIMIT:g} (damaged or forged file)")


KNOBS = ("tensor", "row")


@dataclass
class Switch:
    """One tensor's switch: signs in {-1,0,1} (int8, original shape) and its knob: a float (the
    reference: one per tensor) or a float32 vector with one knob per row (``knob="row"``)."""
    signs: torch.Tensor
    knob: float | torch.Tensor

    def delta(self) -> torch.Tensor:
        s = self.signs.to(torch.float32)
        if isinstance(self.knob, torch.Tensor):
            return s * self.knob.view(-1, *([1] * (s.dim() - 1)))
        return s * self.knob

    def knob_array(self) -> np.ndarray:
        k = self.knob
        return k.numpy().astype(np.float32) if isinstance(k, torch.Tensor) else np.array([k], np.float32)


def _keep_top(values: torch.Tensor, ratio_kept: float) -> torch.Tensor:
    """Mask of entries >= the smallest of the top floor(n*ratio_kept) values (ties kept)."""
    n = values.numel()
    k = int(math.floor(n * ratio_kept))
    if k <= 0 or n == 0:
        return torch.zeros_like(values, dtype=torch.bool)
    thr = torch.topk(values, k).values.min()
    return values >= thr


def tswitch_tensor(delta: torch.Tensor, drop: float, knob: str = "tensor") -> Switch:
    """The switch of one task-vector tensor (float32 math).

    ``knob="tensor"`` is the reference (one RMS per tensor). ``knob="row"`` is Benchtop's option,
    not the paper's: the same mask and signs, but one RMS per row of a matrix (32 more bits per
    row), for small models whose rows differ too much in scale for a single knob."""
    if knob not in KNOBS:
        raise ValueError(f"knob must be one of {', '.join(KNOBS)}, got {knob!r}")
    if drop > 1:
        drop = drop / 100.0
    if not 0.0 <= drop < 1.0:
        raise ValueError(f"drop ratio must be in [0, 1) (or a percentage below 100), got {drop}")
    d = delta.to(torch.float32)
    flat = d.flatten()
    keep = torch.zeros_like(flat, dtype=torch.bool)
    pos, neg = flat > 0, flat < 0
    keep[pos] = _keep_top(flat[pos], 1.0 - drop)
    keep[neg] = _keep_top(-flat[neg], 1.0 - drop)
    signs = (torch.sign(flat) * keep).to(torch.int8).view_as(d)
    if knob == "row" and d.dim() >= 2:
        rows = d.reshape(d.shape[0], -1)
        m = keep.view_as(rows)
        count = m.sum(1).clamp(min=1).to(torch.float32)
        return Switch(signs, ((rows * m).pow(2).sum(1) / count).sqrt())
    kept = flat[keep]
    return Switch(signs, float(kept.pow(2).mean().sqrt()) if kept.numel() else 0.0)


def pack_signs(signs: torch.Tensor) -> dict[str, np.ndarray]:
    """Groups of 4: flag bits, 4 mask bits per non-zero group, a sign bit per non-zero entry."""
    s = signs.flatten().numpy().astype(np.int8)
    pad = (-len(s)) % GROUP
    g = np.concatenate([s, np.zeros(pad, np.int8)]).reshape(-1, GROUP)
    nz = g != 0
    flags = nz.any(axis=1)
    mask_bits = nz[flags].reshape(-1)
    sign_bits = g[nz] > 0
    return {"flags": np.packbits(flags), "mask": np.packbits(mask_bits), "signs": np.packbits(sign_bits)}


def unpack_signs(packed: dict[str, np.ndarray], numel: int) -> np.ndarray:
    n_groups = -(-numel // GROUP)
    flags = np.unpackbits(packed["flags"])[:n_groups].astype(bool)
    n_nz_groups = int(flags.sum())
    mask = np.unpackbits(packed["mask"])[: n_nz_groups * GROUP].astype(bool).reshape(-1, GROUP)
    n_nz = int(mask.sum())
    sign = np.unpackbits(packed["signs"])[:n_nz].astype(bool)
    g = np.zeros((n_groups, GROUP), np.int8)
    sub = np.zeros((n_nz_groups, GROUP), np.int8)
    sub[mask] = np.where(sign, 1, -1)
    g[flags] = sub
    return g.reshape(-1)[:numel]


def build_tswitch(base: str | Path, finetunes: Mapping[str, str | Path], drop: float, out: str | Path,
                  progress: Callable[[float, str], None] | None = None,
                  cancel: Callable[[], None] | None = None, knob: str = "tensor") -> dict:
    """Write ``out/<task>.safetensors`` (packed switches) and ``out/tswitch.json`` for each
    fine-tune; returns sizes measured from the files and per-tensor kept densities."""
    from safetensors.numpy import save_file

    from backend.merging.streaming import checked_indexes, read
    from backend.workspace.atomic import atomic_dir, atomic_write_json

    out = Path(out)
    if out.exists():
        raise FileExistsError(f"output folder {out} already exists; choose another or remove it first")
    base = Path(base)
    tasks = {t: Path(p) for t, p in finetunes.items()}
    indexes = checked_indexes([base, *tasks.values()])
    names = list(indexes[0])
    n_params = sum(e.numel for e in indexes[0].values())
    if knob not in KNOBS:
        raise ValueError(f"knob must be one of {', '.join(KNOBS)}, got {knob!r}")
    from backend.generation.export import dtype_bits, source_dtype

    dtype = source_dtype(base) or "float32"
    bits = dtype_bits(dtype)
    info: dict = {"format": FORMAT, "drop": drop, "group": GROUP, "knob": knob, "base": str(base), "tasks": {},
                  "dtype": dtype, "tensors": {n: list(e.shape) for n, e in indexes[0].items()}}
    with atomic_dir(out) as tmp:
        for ti, (task, folder) in enumerate(tasks.items()):
            arrays: dict[str, np.ndarray] = {}
            density: dict[str, float] = {}
            kept_total = 0
            for i, name in enumerate(names):
                if cancel:
                    cancel()
                b = read(indexes[0][name]).to(torch.float32)
                d = read(indexes[ti + 1][name]).to(torch.float32) - b
                if d.dim() == 0:
                    arrays[f"{name}::scalar"] = d.reshape(1).numpy()
                    continue
                sw = tswitch_tensor(d, drop, knob)
                for k, v in pack_signs(sw.signs).items():
                    arrays[f"{name}::{k}"] = v
                arrays[f"{name}::knob"] = sw.knob_array()
                nnz = int((sw.signs != 0).sum())
                kept_total += nnz
                density[name] = nnz / max(1, d.numel())
                if progress:
                    progress((ti + (i + 1) / len(names)) / len(tasks), f"{task}: switched {i + 1}/{len(names)} tensors")
            path = tmp / f"{task}.safetensors"
            save_file(arrays, str(path), metadata={"format": FORMAT, "task": task})
            size = path.stat().st_size
            info["tasks"][task] = {"finetune": str(folder), "file": path.name, "bytes": size,
                                   "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                                   "crc32": {n: _tensor_crc(arrays, n) for n in names},
                                   "bits_per_param": 8 * size / n_params,
                                   "pct_of_fp32": 100 * 8 * size / (32 * n_params),
                                   "pct_of_dtype": 100 * 8 * size / (bits * n_params),
                                   "density_kept": kept_total / n_params, "per_tensor_density": density}
        info["params"] = n_params
        atomic_write_json(tmp / "tswitch.json", info)
    return info


def read_switches(folder: str | Path, task: str) -> dict[str, torch.Tensor]:
    """The task's reconstructed delta (knob * S, or the kept scalar) per tensor name."""
    from safetensors.numpy import load

    folder = Path(folder)
    meta_path = folder / "tswitch.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{folder} is not a T-Switch folder (no tswitch.json)") from None
    except ValueError as exc:
        raise ValueError(f"{meta_path}: not valid JSON ({exc})") from None
    if task not in meta["tasks"]:
        raise KeyError(f"{folder} has no switch for task {task!r} (it has {', '.join(meta['tasks'])})")
    tmeta = meta["tasks"][task]
    path = folder / tmeta["file"]
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist: the T-Switch folder {folder} is incomplete") from None
    intact = "sha256" not in tmeta or hashlib.sha256(blob).hexdigest() == tmeta["sha256"]
    try:
        arrays = load(blob)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own types
        why = ("damaged: its bytes do not match the SHA-256 in tswitch.json" if not intact
               else "cannot read packed switches")
        raise ValueError(f"{path}: {why} ({exc})") from None
    if not intact:
        crcs = tmeta.get("crc32") or {}
        bad = next((n for n in meta["tensors"] if n in crcs and _tensor_crc(arrays, n) != crcs[n]), None)
        where = f"tensor {bad}" if bad else "its header"
        raise ValueError(f"{path}: damaged: the bytes of {where} do not match the digest in {meta_path.name}; "
                         "nothing was written")
    out = {}
    for name, shape in meta["tensors"].items():
        if f"{name}::scalar" in arrays:
            _check_value(path, name, "the kept scalar", arrays[f"{name}::scalar"])
            out[name] = torch.from_numpy(arrays[f"{name}::scalar"].copy()).reshape(shape)
            continue
        try:
            packed = {k: arrays[f"{name}::{k}"] for k in ("flags", "mask", "signs")}
            knob = arrays[f"{name}::knob"].astype(np.float32)
        except KeyError as exc:
            raise ValueError(f"{path}: tensor {name} is missing field {exc}") from None
        _check_value(path, name, "the knob", knob)
        numel = int(np.prod(shape)) if shape else 1
        s = unpack_signs(packed, numel).astype(np.float32).reshape(shape)
        if knob.size == 1:
            out[name] = torch.from_numpy(s * knob[0])
        elif len(shape) >= 2 and knob.size == shape[0]:
            out[name] = torch.from_numpy(s * knob.reshape(-1, *([1] * (len(shape) - 1))))
        else:
            raise ValueError(f"{path}: tensor {name} has {knob.size} knobs for shape {list(shape)}")
    return out


def compose_state(base: str | Path, folder: str | Path, weights: dict[str, float]) -> dict[str, torch.Tensor]:
    """theta = theta_base + sum_t w_t * knob_t * S_t (what Auto-Switch and oracle T-Switch run)."""
    from backend.merging.streaming import EMBEDDINGS, LM_HEAD
    from backend.models.tensors import index_tensors, read_tensor

    state = {n: read_tensor(e).to(torch.float32) for n, e in index_tensors(base).items()}
    for task, w in weights.items():
        if w == 0:
            continue
        for name, d in read_switches(folder, task).items():
            if name not in state and name == LM_HEAD:   # switches of an untied fine-tune on a tied base
                emb = next((e for e in EMBEDDINGS if e in state), None)
                if emb is None:
                    raise ValueError(f"{folder}: switch for {name} but {base} has neither it nor embeddings")
                state[name] = state[emb].clone()
            if name not in state:
                raise ValueError(f"{folder}: switch for tensor {name}, which {base} does not have")
            state[name] = state[name] + w * d
    return state


def apply_tswitch(base: str | Path, folder: str | Path, weights: dict[str, float], out: str | Path,
                  progress: Callable[[float, str], None] | None = None) -> dict:
    """Write the composed model as a Hugging Face folder (refused if ``out`` exists); every
    tensor keeps the base checkpoint's dtype (a bf16 base gives a bf16 model)."""
    from backend.merging.streaming import LM_HEAD, copy_side_files, untie_config
    from backend.models.tensors import ShardWriter, index_tensors
    from backend.workspace.atomic import atomic_dir

    out = Path(out)
    if out.exists():
        raise FileExistsError(f"output folder {out} already exists; choose another or remove it first")
    base = Path(base)
    index = index_tensors(base)
    dtypes = {n: read_dtype(e) for n, e in index.items()}
    if progress:
        progress(0.1, "composing base + switches")
    state = compose_state(base, folder, weights)
    fallback = next(iter(dtypes.values()), torch.float32)
    with atomic_dir(out) as tmp:
        w = ShardWriter(tmp)
        for name, t in state.items():
            w.add(name, t.to(dtypes.get(name, fallback)) if t.is_floating_point() else t)
        files = w.close()
        copy_side_files(base, tmp)
        if LM_HEAD in state and LM_HEAD not in index:
            untie_config(tmp)
    if progress:
        progress(1.0, "written")
    return {"out": str(out), "files": files, "weights": weights, "dtype": str(fallback).replace("torch.", "")}


def read_dtype(entry: TensorEntry) -> torch.dtype:
    """The torch dtype of a stored tensor (its safetensors/torch dtype name)."""
    names = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "F64": torch.float64}
    d = str(entry.dtype)
    return names.get(d) or getattr(torch, d.replace("torch.", ""), torch.float32)
