"""Reading model folders tensor by tensor, for delta extraction.

Prefers ``backend.models.tensors`` (the shared streaming reader) when it is present; until then
this is the minimal reader compression needs: a name → (file, dtype, shape) index over a single
``model.safetensors`` or a sharded ``model.safetensors.index.json``, lazy reads of one tensor at
a time, and a content fingerprint that artifacts record for their base model.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class TensorEntry:
    name: str
    file: Path
    dtype: str
    shape: tuple[int, ...]

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n


def weight_files(folder: str | Path) -> list[Path]:
    """The safetensors files of a model folder (single or sharded); FileNotFoundError naming it."""
    folder = Path(folder)
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{index}: not a valid safetensors index ({exc})") from None
        paths = [folder / f for f in files]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{index} lists missing shard(s): {', '.join(missing)}")
        return paths
    single = folder / "model.safetensors"
    if single.is_file():
        return [single]
    raise FileNotFoundError(f"{folder} has no model.safetensors or model.safetensors.index.json")


def index_tensors(folder: str | Path) -> dict[str, TensorEntry]:
    """Names, dtypes and shapes of every tensor, read from the headers only (no tensor data)."""
    from safetensors import safe_open

    out: dict[str, TensorEntry] = {}
    for f in weight_files(folder):
        try:
            with safe_open(str(f), framework="pt") as h:
                for name in h.keys():
                    sl = h.get_slice(name)
                    out[name] = TensorEntry(name, f, str(sl.get_dtype()), tuple(int(s) for s in sl.get_shape()))
        except Exception as exc:  # safetensors raises its own error types
            raise ValueError(f"{f}: cannot read safetensors header ({exc})") from None
    return out


def read_tensor(entry: TensorEntry) -> torch.Tensor:
    from safetensors import safe_open

    try:
        with safe_open(str(entry.file), framework="pt") as h:
            return h.get_tensor(entry.name)
    except Exception as exc:
        raise ValueError(f"{entry.file}: cannot read tensor {entry.name} ({exc})") from None


def fingerprint(folder: str | Path) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order (file layout ignored)."""
    try:
        from backend.models.tensors import fingerprint as shared  # the shared definition, once it exists
        return str(shared(folder))
    except ImportError:
        pass
    h = hashlib.sha256()
    for name, e in sorted(index_tensors(folder).items()):
        t = read_tensor(e).contiguous()
        h.update(json.dumps([name, e.dtype, list(e.shape)]).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return "sha256:" + h.hexdigest()


def save_shards(tensors: dict[str, torch.Tensor], folder: Path, max_shard_bytes: int = 2 << 30) -> list[str]:
    """Write ``tensors`` into ``folder`` (already a temporary folder) as one file or HF shards."""
    from safetensors.torch import save_file

    total = sum(t.numel() * t.element_size() for t in tensors.values())
    if total <= max_shard_bytes:
        save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
        return ["model.safetensors"]
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, t in tensors.items():
        nb = t.numel() * t.element_size()
        if shards[-1] and size + nb > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = t
        size += nb
    names, weight_map = [], {}
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(folder / fname), metadata={"format": "pt"})
        names.append(fname)
        weight_map.update({k: fname for k in shard})
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))
    return names
