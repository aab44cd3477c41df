"""``load_prm(path, device)``: a scorer for a PRM folder (or ``zoo:NAME``)."""
from __future__ import annotations

from pathlib import Path

from backend.prm.descriptor import read_descriptor


def resolve_prm_path(spec: str | Path) -> Path:
    """A folder, or ``zoo:NAME`` resolved through the demo zoo (errors name the model)."""
    from backend.models.tensors import resolve_model

    return resolve_model(spec, require_config=False, what="PRM")


def _dtype(device: str, dtype: str):
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; use auto, float32, bfloat16 or float16") from None


def load_prm(path: str | Path, device: str = "cpu", dtype: str = "auto", preset: str | None = None, **kwargs):
    """A ``DiscriminativePRM`` or ``GenerativePRM`` with ``.score(problem, steps)`` and
    ``.score_batch([(problem, steps), ...])``. The format comes from ``benchtop_prm.json``, else
    ``preset``, else a guess from the folder (``backend.prm.descriptor``)."""
    from transformers import (AutoModel, AutoModelForCausalLM, AutoModelForTokenClassification,
                              AutoTokenizer)

    folder = resolve_prm_path(path)
    desc = read_descriptor(folder, preset)
    torch_dtype = _dtype(str(device), dtype)
    trust = bool(desc.get("trust_remote_code", False))
    tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=trust)
    name = str(path) if str(path).startswith("zoo:") else folder.name
    if desc["style"] == "token-classification":
        if trust:
            model = AutoModel.from_pretrained(folder, dtype=torch_dtype, trust_remote_code=True)
        else:
            model = AutoModelForTokenClassification.from_pretrained(folder, dtype=torch_dtype)
    else:
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype, trust_remote_code=trust)
    model.to(device)
    if desc["style"] == "generative":
        from backend.prm.generative import GenerativePRM

        return GenerativePRM(model, tok, desc, str(device), name=name, **kwargs)
    from backend.prm.discriminative import DiscriminativePRM

    return DiscriminativePRM(model, tok, desc, str(device), name=name, **kwargs)
