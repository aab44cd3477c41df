"""Streaming access to model folders for merges: checked tensor indexes and side files.

A merge reads one tensor name at a time from every model and writes it straight into the
current output shard, so peak memory is (models + 1) tensors plus one shard, whatever the
model count or size. Reading and shard writing are ``backend.models.tensors``'.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from backend.models.tensors import ShardWriter, TensorEntry, index_tensors, read_tensor

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def checked_indexes(folders: list[Path]) -> list[dict[str, TensorEntry]]:
    """Indexes of every folder, refusing different architectures, names or shapes with a message
    naming the file and the tensor (the first folder is the reference)."""
    idx = [index_tensors(f) for f in folders]
    tie_lm_heads(idx)
    ref_arch = _architecture(folders[0])
    for f, ix in zip(folders[1:], idx[1:]):
        arch = _architecture(f)
        if ref_arch and arch and arch != ref_arch:
            raise ValueError(f"{f / 'config.json'}: architecture {arch} differs from {folders[0]}'s {ref_arch}")
        missing = sorted(set(idx[0]) - set(ix))
        if missing:
            raise ValueError(f"{f}: tensor {missing[0]} is missing (present in {folders[0]})"
                             + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
        extra = sorted(set(ix) - set(idx[0]))
        if extra:
            raise ValueError(f"{f}: tensor {extra[0]} is not in {folders[0]}")
        for name, e in ix.items():
            if e.shape != idx[0][name].shape:
                raise ValueError(f"{e.file}: tensor {name} has shape {list(e.shape)}, "
                                 f"but {idx[0][name].file} has {list(idx[0][name].shape)}")
    return idx


LM_HEAD = "lm_head.weight"
EMBEDDINGS = ("model.embed_tokens.weight", "transformer.wte.weight", "model.decoder.embed_tokens.weight")


def tie_lm_heads(indexes: list[dict[str, TensorEntry]]) -> bool:
    """When some models store ``lm_head.weight`` and others tie it to their embeddings (no such
    tensor), give the tied ones their embedding matrix as lm_head, as mergekit does; returns
    whether any was filled in (the output then stores an untied lm_head)."""
    if not any(LM_HEAD in ix for ix in indexes) or all(LM_HEAD in ix for ix in indexes):
        return False
    for ix in indexes:
        if LM_HEAD not in ix:
            emb = next((e for e in EMBEDDINGS if e in ix), None)
            if emb is not None:
                ix[LM_HEAD] = ix[emb]
    return True


def untie_config(folder: Path) -> None:
    """Mark an output that stores its own ``lm_head.weight`` as untied (``tie_word_embeddings``)."""
    cfg = folder / "config.json"
    if not cfg.is_file():
        return
    d = json.loads(cfg.read_text(encoding="utf-8"))
    if d.get("tie_word_embeddings", True):
        d["tie_word_embeddings"] = False
        cfg.write_text(json.dumps(d, indent=2) + "\n", encoding="utf-8")


def _architecture(folder: Path) -> tuple | None:
    cfg = folder / "config.json"
    if not cfg.is_file():
        return None
    try:
        d = json.loads(cfg.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{cfg}: not valid JSON ({exc})") from None
    return (tuple(d.get("architectures") or []), d.get("model_type"))


def num_layers(folder: Path) -> int:
    try:
        d = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        return int(d.get("num_hidden_layers") or 1)
    except (OSError, ValueError):
        return 1


def read(entry: TensorEntry) -> torch.Tensor:
    return read_tensor(entry)


def copy_side_files(src: Path, dst: Path, dtype: str | None = None) -> None:
    """Config, tokenizer and generation files from ``src`` (weights are written separately)."""
    for p in src.iterdir():
        if p.is_file() and not p.name.endswith(WEIGHT_SUFFIXES) and p.name != "model.safetensors.index.json":
            shutil.copy2(p, dst / p.name)
    cfg = dst / "config.json"
    if dtype and cfg.is_file():
        d = json.loads(cfg.read_text(encoding="utf-8"))
        d["torch_dtype"] = dtype
        d["dtype"] = dtype
        cfg.write_text(json.dumps(d, indent=2) + "\n", encoding="utf-8")


__all__ = ["ShardWriter", "checked_indexes", "copy_side_files", "num_layers", "read"]
