"""Apply an artifact to its base model: in memory (a state dict) or as a full HF folder."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import torch

from backend.compression import integrity, methods
from backend.compression.artifact import AUX, DATA, FORMAT, META, READABLE
from backend.compression.names import check_bits
from backend.compression.model_io import fingerprint, index_tensors, read_tensor, save_shards
from backend.workspace.atomic import atomic_dir

Progress = Callable[[float, str], None]


def read_artifact(art: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(metadata, buffers) of an artifact folder; ValueError naming the file when it is damaged.

    A format /3 artifact is verified here, before anything is decoded: the SHA-256 of
    ``delta.safetensors`` must match ``delta.json``, else the per-tensor CRC-32 tables name the
    damaged tensor. The bit budget must be a finite number in the method's range."""
    art = Path(art)
    meta_path, data_path = art / META, art / DATA
    for p in (meta_path, data_path):
        if not p.is_file():
            raise FileNotFoundError(f"{p} does not exist: {art} is not a compressed-delta artifact")
    try:
        meta = json.loads(meta_path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{meta_path}: corrupt artifact metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") not in READABLE:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ValueError(f"{meta_path}: not a {FORMAT} artifact (format {found!r})")
    for key in ("method", "bits", "settings", "base", "tensors"):
        if key not in meta:
            raise ValueError(f"{meta_path}: corrupt artifact metadata (no {key!r} field)")
    try:
        methods.check_method(meta["method"])
        check_bits(meta["method"], meta["bits"], "its bit budget")
    except ValueError as exc:
        raise ValueError(f"{meta_path}: {exc}") from None
    blob = data_path.read_bytes()
    digest = meta.get("payload_sha256")
    if meta["format"] == FORMAT and not isinstance(digest, str):
        raise ValueError(f"{meta_path}: corrupt artifact metadata (no payload digest)")
    intact = digest is None or integrity.sha256(blob) == digest
    try:
        from safetensors.torch import load as st_load

        data = st_load(blob)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own types
        why = "damaged: its bytes do not match the recorded SHA-256" if not intact else "corrupt artifact data"
        raise ValueError(f"{data_path}: {why} ({exc})") from None
    if not intact:
        where = "its container (header or tables)"
        try:
            starts = field_starts(meta, data, art)
            name = integrity.damaged_tensor(data, list(meta.get("fields") or []), starts,
                                            [t[0] for t in meta["tensors"]])
            if name is not None:
                where = f"tensor {name}"
        except (ValueError, KeyError, IndexError, TypeError):
            pass
        raise ValueError(f"{data_path}: damaged: the bytes of {where} do not match the recorded digest "
                         "(SHA-256 in delta.json); nothing was written")
    return meta, data


def field_starts(meta: dict, data: dict[str, torch.Tensor], art: Path) -> dict[str, list[int]]:
    """Offsets of each tensor's slice in every stored field (checked against the data)."""
    starts: dict[str, list[int]] = {}
    table = field_lengths(meta, data, art)
    for k in [k[2:] for k in data if k.startswith("f.")]:
        n = table.get(k)
        if n is None or n.numel() != len(meta["tensors"]) or int(n.sum()) != data["f." + k].numel():
            raise ValueError(f"{art / DATA}: lengths of field {k} do not match the stored data")
        starts[k] = [0] + torch.cumsum(n.long(), 0).tolist()
    return starts


def field_lengths(meta: dict, data: dict[str, torch.Tensor], art: Path) -> dict[str, torch.Tensor]:
    """Per-tensor lengths of every stored field: the ``lengths`` table (rows in ``meta["fields"]``
    order) or, in format /1 artifacts, one ``n.<field>`` tensor per field."""
    if meta.get("format") == "benchtop-delta/1":
        return {k[2:]: v for k, v in data.items() if k.startswith("n.")}
    table, fields = data.get("lengths"), meta.get("fields")
    if table is None or not isinstance(fields, list) or table.dim() != 2 or table.shape[0] != len(fields):
        raise ValueError(f"{art / DATA}: the lengths table does not match the fields listed in {art / META}")
    return dict(zip(fields, table))


def check_base(meta: dict, art: Path, base_dir: Path) -> None:
    want = meta["base"]["fingerprint"]
    got = fingerprint(base_dir)
    if got != want:
        raise ValueError(f"{base_dir} is not the base model of {art}: its fingerprint {got[:19]}… differs from "
                         f"the recorded {want[:19]}… (the artifact was made against {meta['base'].get('name')!r})")


def apply_artifact(art: str | Path, base_dir: str | Path, device: str = "cpu", progress: Progress | None = None,
                   cancel: Callable[[], None] | None = None, verify_base: bool = True) -> dict[str, torch.Tensor]:
    """base + decoded delta for every tensor, in the fine-tune's dtypes (the in-memory application)."""
    art, base_dir = Path(art), Path(base_dir)
    meta, data = read_artifact(art)
    report = progress or (lambda f, m: None)
    if verify_base:
        report(0.0, "checking the base model's fingerprint")
        check_base(meta, art, base_dir)
    base = index_tensors(base_dir)
    out: dict[str, torch.Tensor] = {}
    starts = field_starts(meta, data, art)
    exact = sorted(k[2:] for k in data if k.startswith("x."))
    total = len(meta["tensors"]) + len(exact)
    for i, t in enumerate(meta["tensors"]):
        if cancel:
            cancel()
        try:
            name, shape = t[0], tuple(int(v) for v in t[1])
            dtype_name = t[2] if len(t) > 2 else meta["dtype"]
        except (TypeError, IndexError, KeyError, ValueError):
            raise ValueError(f"{art / META}: corrupt tensor entry {t!r}") from None
        if name not in base:
            raise ValueError(f"{base_dir}: base model has no tensor {name}, which {art / META} needs")
        if tuple(base[name].shape) != shape:
            raise ValueError(f"{base[name].file}: tensor {name} has shape {list(base[name].shape)}, "
                             f"the artifact {art / META} expects {list(shape)}")
        fields = {k: data["f." + k][s[i]:s[i + 1]] for k, s in starts.items()}
        for k, v in fields.items():  # scales and stored values: finite and plausible
            integrity.check_values(str(art / DATA), name, f"field {k}", v)
        try:
            delta = methods.decode_tensor(meta["method"], name, fields, shape, float(meta["bits"]),
                                          meta["settings"], device)
        except ValueError as exc:
            raise ValueError(f"{art / DATA}: {exc}") from None
        integrity.check_values(str(art / DATA), name, "the decoded delta", delta)
        dtype = getattr(torch, {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64"}[dtype_name])
        out[name] = (read_tensor(base[name]).float() + delta).to(dtype)
        report((i + 1) / total, f"{name}")
    for name in exact:
        out[name] = data["x." + name]
    return out


def decompress(art: str | Path, base_dir: str | Path, out: str | Path, device: str = "cpu",
               progress: Progress | None = None, cancel: Callable[[], None] | None = None) -> dict:
    """Write the reconstructed fine-tune as a full HF folder (atomically); returns a summary."""
    art, out = Path(art), Path(out)
    report = progress or (lambda f, m: None)
    if out.exists():
        raise FileExistsError(f"output folder {out} already exists; choose another or remove it first")
    sd = apply_artifact(art, base_dir, device, lambda f, m: report(0.9 * f, m), cancel)
    report(0.92, f"writing {out}")
    with atomic_dir(out) as tmp:
        files = save_shards(sd, tmp)
        if (art / AUX).is_dir():
            for p in sorted((art / AUX).iterdir()):
                shutil.copy2(p, tmp / p.name)
    report(1.0, "done")
    meta = json.loads((art / META).read_text())
    return {"out": str(out), "files": files, "tensors": len(sd), "method": meta["method"], "bits": meta["bits"],
            "params": int(sum(t.numel() for t in sd.values()))}
