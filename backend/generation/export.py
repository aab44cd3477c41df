"""Saving a model in its source checkpoint's dtype, and reading that dtype.

Why: jobs compute in float32 on a CPU (training, merging arithmetic), but a user who brings a
bf16 checkpoint expects a bf16 checkpoint back, at half the size, not a silent fp32 copy.
"""
from __future__ import annotations

import json
from pathlib import Path

DTYPES = ("float32", "bfloat16", "float16")


def source_dtype(folder: str | Path) -> str | None:
    """The dtype a Hugging Face folder's ``config.json`` declares (``dtype`` or ``torch_dtype``),
    else the dtype of its first floating-point safetensors tensor; None when neither is known."""
    folder = Path(folder)
    try:
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        cfg = {}
    for key in ("dtype", "torch_dtype"):
        value = str(cfg.get(key) or "").replace("torch.", "")
        if value in DTYPES:
            return value
    names = {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}
    for shard in sorted(folder.glob("*.safetensors")):
        try:
            with open(shard, "rb") as f:
                n = int.from_bytes(f.read(8), "little")
                header = json.loads(f.read(n))
        except (OSError, ValueError):
            continue
        for name, meta in header.items():
            if name != "__metadata__" and meta.get("dtype") in names:
                return names[meta["dtype"]]
    return None


def dtype_bits(dtype: str | None) -> int:
    """Bits per parameter of ``dtype`` (32 when unknown)."""
    return 16 if dtype in ("bfloat16", "float16") else 32


def set_config_dtype(folder: str | Path, dtype: str) -> None:
    """Write ``dtype`` into ``config.json`` (both spellings transformers reads)."""
    path = Path(folder) / "config.json"
    cfg = json.loads(path.read_text(encoding="utf-8"))
    cfg["dtype" if "dtype" in cfg or "torch_dtype" not in cfg else "torch_dtype"] = dtype
    if "torch_dtype" in cfg:
        cfg["torch_dtype"] = dtype
    path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def save_model(model, folder: str | Path, dtype: str | None = None) -> None:  # noqa: ANN001 - an HF model
    """``model.save_pretrained(folder)`` with floating-point tensors cast to ``dtype`` (None: as they
    are); the model in memory is not changed."""
    import torch

    if dtype is None:
        model.save_pretrained(folder)
        return
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
    target = getattr(torch, dtype)
    state = {k: (v.detach().to(target) if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    model.save_pretrained(folder, state_dict=state)
    set_config_dtype(folder, dtype)
