"""Run a static merge described by a MergeConfig, streaming tensor by tensor."""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import torch

from backend.compression.model_io import index_tensors
from backend.merging.config import MergeConfig, global_params, tensor_params
from backend.merging.methods import merge_tensor
from backend.merging.registry import check_model_count, get_method
from backend.merging.streaming import (
    LM_HEAD,
    ShardWriter,
    checked_indexes,
    copy_side_files,
    num_layers,
    read,
    untie_config,
)

if TYPE_CHECKING:
    from backend.models.tensors import TensorEntry

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class _Lazy(Sequence):
    """The models' copies of one tensor, read from disk when indexed, so a merge rule that
    walks them once holds one raw input at a time."""

    def __init__(self, entries: list) -> None:
        self.entries = entries

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, i):  # type: ignore[override]
        return _finite(read(self.entries[i]), self.entries[i])


def _finite(t: torch.Tensor, entry: TensorEntry) -> torch.Tensor:
    """The tensor, or ValueError naming its file when it holds NaN or Inf (TIES would drop them unseen)."""
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"{entry.file}: tensor {entry.name} holds {bad} NaN/Inf value(s); refusing to merge it")
    return t


def run_merge(cfg: MergeConfig, out: str | Path, progress: Callable[[float, str], None] | None = None,
              cancel: Callable[[], None] | None = None, max_shard_bytes: int = 2 << 30, seed: int = 0) -> dict:
    """Merge into a new folder ``out`` (refused if it exists); returns a summary with throughput.

    Non-floating tensors (and 0-dim scalars for the task-vector methods) are taken from the
    base model unchanged; floating tensors are merged in float32 and cast to ``out_dtype``.
    """
    from backend.workspace.atomic import atomic_dir

    out = Path(out)
    if out.exists():
        raise FileExistsError(f"output folder {out} already exists; choose another or remove it first")
    from backend.models.tensors import resolve_model as resolve

    base_dir = resolve(cfg.base_model) if cfg.base_model else None
    model_dirs = [resolve(m.model) for m in cfg.models]
    method = get_method(cfg.merge_method)
    # like mergekit, methods built on a base skip the base when it is also listed in models
    use = [j for j, d in enumerate(model_dirs)
           if method.base_in_models or base_dir is None or d.resolve() != base_dir.resolve()]
    if not use:
        raise ValueError(f"{cfg.merge_method}: every model listed is the base model; add a fine-tuned model")
    check_model_count(method, len(use))
    model_dirs = [model_dirs[j] for j in use]
    folders = ([base_dir] if base_dir else []) + model_dirs
    indexes = checked_indexes(folders)
    base_ix = indexes[0] if base_dir else None
    model_ix = indexes[1:] if base_dir else indexes
    layers = num_layers(folders[0])
    gen = torch.Generator().manual_seed(seed)
    names = list(model_ix[0])
    t0 = time.perf_counter()
    n_params = 0
    with atomic_dir(out) as tmp:
        writer = ShardWriter(tmp, max_shard_bytes)
        for i, name in enumerate(names):
            if cancel:
                cancel()
            src = _Lazy([ix[name] for ix in model_ix])
            base_t = _finite(read(base_ix[name]), base_ix[name]) if base_ix else None
            ref = base_t if base_t is not None else src[0]
            out_dtype = DTYPES.get(cfg.out_dtype or cfg.dtype or "", ref.dtype)
            if not ref.is_floating_point():
                merged = ref
            else:
                per = [tensor_params(cfg, j, name, layers) for j in use]
                g = global_params(cfg, name, layers)
                weights = [float(p.get("weight", 1.0)) for p in per]
                dens = [float(p.get("density", 1.0)) for p in per]
                if any(not (0.0 < d <= 1.0) for d in dens):
                    raise ValueError(f"density must be in (0, 1] (tensor {name}: {dens})")
                if cfg.merge_method == "linear" and not any(weights):
                    raise ValueError(f"linear: every model's weight is 0 for tensor {name}; the merge would be "
                                     "all zeros (give a model a non-zero weight there)")
                merged = merge_tensor(cfg.merge_method, base_t, src, weights, dens,
                                      normalize=None if "normalize" not in g else bool(g["normalize"]),
                                      rescale=None if "rescale" not in g else bool(g["rescale"]),
                                      lam=float(g.get("lambda", 1.0)),
                                      gammas=[float(p.get("gamma", 0.01)) for p in per], generator=gen,
                                      t=None if g.get("t") is None else float(g["t"]))
                if not torch.isfinite(merged).all():
                    raise ValueError(f"merging tensor {name} produced NaN or Inf (check the inputs: "
                                     f"{', '.join(str(ix[name].file) for ix in model_ix)})")
                merged = merged.to(out_dtype)
            writer.add(name, merged)
            n_params += merged.numel()
            del src, base_t
            if progress:
                progress((i + 1) / len(names), f"merged {i + 1}/{len(names)} tensors ({name})")
        files = writer.close()
        copy_side_files(base_dir or model_dirs[0], tmp, cfg.out_dtype or cfg.dtype)
        if LM_HEAD in names and LM_HEAD not in index_tensors(base_dir or model_dirs[0]):
            untie_config(tmp)   # a tied base merged with untied fine-tunes (mergekit's handling)
        from backend.merging.config import dump_config
        (tmp / "benchtop_merge.yml").write_text(dump_config(cfg), encoding="utf-8")
    seconds = time.perf_counter() - t0
    return {"out": str(out), "method": cfg.merge_method, "tensors": len(names), "params": n_params,
            "files": files, "seconds": round(seconds, 3), "params_per_s": n_params / max(seconds, 1e-9),
            "models": [str(p) for p in model_dirs], "base": str(base_dir) if base_dir else None}
