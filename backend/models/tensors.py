"""Model folders, tensor by tensor: the one resolver, the one safetensors reader, the one shard writer.

Every package that touches weights (merging, compression, T-Switch, the zoo) goes through here,
so a sharded folder, a damaged header or a missing shard reads the same everywhere and errors
name the file. Reading is lazy (an index from the headers, then one tensor at a time), so peak
memory is a few tensors whatever the model size. Torch loads only inside the functions that
return tensors; :func:`resolve_model` and :func:`weight_files` are cheap enough for a CLI parser.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"


# -- where a model is ---------------------------------------------------------------------------
def resolve_model(name: str | Path, workspace: str | Path | None = None, *, require_config: bool = True,
                  what: str = "model") -> Path:
    """The folder of ``zoo:NAME`` or of a path; FileNotFoundError naming the model otherwise.

    ``zoo:NAME`` resolves in ``workspace``'s zoo, else in the zoo of the workspace of the job
    being run (``JobContext.workspace``), else in the user's default one (``BENCHTOP_ZOO``
    overrides all three). ``require_config`` asks for a Hugging Face folder (``config.json``);
    ``what`` names the folder in messages ("policy", "PRM").
    """
    text = str(name)
    if text.startswith("zoo:"):
        from backend.models.zoo.store import resolve_zoo_name

        return resolve_zoo_name(text, workspace_root=workspace)
    folder = Path(text).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{what} folder {folder} does not exist")
    if require_config and not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} has no config.json: not a Hugging Face {what} folder")
    return folder


# -- reading ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives and what it is, read from a safetensors header."""

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
    index = folder / INDEX
    if index.is_file():
        try:
            files = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{index}: not a valid safetensors index ({exc})") from None
        paths = [folder / f for f in files]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{index} lists missing shard(s): {', '.join(missing)}")
        return paths
    single = folder / SINGLE
    if single.is_file():
        return [single]
    raise FileNotFoundError(f"{folder} has no {SINGLE} or {INDEX}")


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
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
            raise ValueError(f"{f}: cannot read safetensors header ({exc})") from None
    return out


def read_tensor(entry: TensorEntry) -> torch.Tensor:
    """One tensor's data (ValueError naming the file when it cannot be read)."""
    from safetensors import safe_open

    try:
        with safe_open(str(entry.file), framework="pt") as h:
            return h.get_tensor(entry.name)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
        raise ValueError(f"{entry.file}: cannot read tensor {entry.name} ({exc})") from None


def fingerprint(folder: str | Path) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order (file layout ignored),
    so a re-sharded copy of a model has the same fingerprint and any changed weight does not."""
    import torch

    h = hashlib.sha256()
    for name, e in sorted(index_tensors(folder).items()):
        t = read_tensor(e).contiguous()
        h.update(json.dumps([name, e.dtype, list(e.shape)]).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return "sha256:" + h.hexdigest()


# -- writing ------------------------------------------------------------------------------------
class ShardWriter:
    """Writes tensors into ``folder`` (a temporary folder the caller renames) as they come.

    A shard is flushed once it reaches ``max_shard_bytes``; ``close()`` names the shards the
    Hugging Face way (``model.safetensors``, or ``model-0000i-of-0000n.safetensors`` plus the
    index when there are several) and returns the file names.
    """

    def __init__(self, folder: str | Path, max_shard_bytes: int = 2 << 30) -> None:
        self.folder, self.max = Path(folder), max_shard_bytes
        self.current: dict[str, torch.Tensor] = {}
        self.size = 0
        self.parts: list[tuple[Path, list[str]]] = []
        self.total = 0

    def add(self, name: str, t: torch.Tensor) -> None:
        nb = t.numel() * t.element_size()
        if self.current and self.size + nb > self.max:
            self._flush()
        self.current[name] = t.contiguous()
        self.size += nb
        self.total += nb

    def _flush(self) -> None:
        from safetensors.torch import save_file

        path = self.folder / f".part-{len(self.parts):05d}.safetensors"
        save_file(self.current, str(path), metadata={"format": "pt"})
        self.parts.append((path, list(self.current)))
        self.current, self.size = {}, 0

    def close(self) -> list[str]:
        if self.current or not self.parts:
            self._flush()
        if len(self.parts) == 1:
            self.parts[0][0].rename(self.folder / SINGLE)
            return [SINGLE]
        names, weight_map = [], {}
        for i, (path, keys) in enumerate(self.parts):
            fname = f"model-{i + 1:05d}-of-{len(self.parts):05d}.safetensors"
            path.rename(self.folder / fname)
            names.append(fname)
            weight_map.update({k: fname for k in keys})
        (self.folder / INDEX).write_text(
            json.dumps({"metadata": {"total_size": self.total}, "weight_map": weight_map}, indent=2), encoding="utf-8")
        return names


def save_shards(tensors: dict[str, torch.Tensor], folder: Path, max_shard_bytes: int = 2 << 30) -> list[str]:
    """Write a whole state dict into ``folder`` (already a temporary folder) as one file or HF shards."""
    writer = ShardWriter(folder, max_shard_bytes)
    for name, t in tensors.items():
        writer.add(name, t)
    return writer.close()
