"""Tiny Llama models with a chosen position scheme; saving, Benchtop's loader, and convert.

A saved folder is a normal HF checkpoint (config.json + model.safetensors) plus:
- ``config.json["benchtop_positions"]``: the :class:`PositionConfig` (kind, training length, FoPE options);
- the FoPE coefficients as ``model.layers.N.self_attn.positions.{cos,sin}_coef`` in model.safetensors;
- ``POSITIONS.md``: what plain ``transformers`` does with the folder.

Plain ``AutoModelForCausalLM.from_pretrained`` knows nothing of these: it builds ordinary RoPE
attention and drops the coefficient tensors as unexpected keys, so a FoPE/NoPE/ALiBi model loaded
that way computes something else. :func:`load_model` re-applies the scheme and its coefficients.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from backend.positions.attention import apply_positions, encodings_of
from backend.positions.settings import CONFIG_KEY, PositionConfig

PLAIN_WARNING = ("plain transformers loads this folder as ordinary RoPE and ignores the "
                 "'benchtop_positions' config and the FoPE coefficients; load it with "
                 "backend.positions.model.load_model (or any 'fope' command) to get the trained model")


def build_tiny(vocab_size: int, cfg: PositionConfig, layers: int = 2, d_model: int = 128, heads: int = 4,
               max_positions: int = 65536) -> Any:
    """A from-scratch LlamaForCausalLM (RMSNorm, SwiGLU, untied embeddings) with ``cfg`` applied."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(cfg.seed)
    conf = LlamaConfig(vocab_size=vocab_size, hidden_size=d_model, intermediate_size=3 * d_model,
                       num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                       max_position_embeddings=max_positions, rope_theta=10000.0, tie_word_embeddings=False,
                       bos_token_id=None, eos_token_id=None, pad_token_id=None)
    conf._attn_implementation = "sdpa"
    model = LlamaForCausalLM(conf)
    return apply_positions(model, cfg)


def position_config(folder: str | Path) -> PositionConfig | None:
    """The scheme a folder records (None for a plain HF model)."""
    path = Path(folder) / "config.json"
    if not path.exists():
        raise FileNotFoundError(f"{folder}: no config.json (not a Hugging Face model folder)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg})") from None
    raw = data.get(CONFIG_KEY)
    return PositionConfig.from_dict(raw) if raw else None


def _position_tensors(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors import safe_open

    out: dict[str, torch.Tensor] = {}
    for file in sorted(folder.glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as f:
            for key in f.keys():  # noqa: SIM118 - safe_open is not iterable
                if ".positions." in key:
                    out[key] = f.get_tensor(key)
    return out


def load_model(folder: str | Path, device: str = "cpu") -> tuple[Any, PositionConfig | None]:
    """Load an HF causal LM and re-apply the recorded position scheme with its saved coefficients."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    folder = Path(folder)
    cfg = position_config(folder)
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()   # the coefficient keys are "unexpected" to HF; they are loaded below
    try:
        model = AutoModelForCausalLM.from_pretrained(str(folder), attn_implementation="sdpa",
                                                     dtype=torch.float32)
    finally:
        hf_logging.set_verbosity(level)
    if cfg is not None:
        apply_positions(model, cfg)
        saved = _position_tensors(folder)
        own = {k: v for k, v in model.state_dict().items() if ".positions." in k}
        missing = sorted(set(own) - set(saved))
        if missing:
            raise ValueError(f"{folder}: FoPE coefficients missing from the checkpoint ({missing[0]}, ...)")
        with torch.no_grad():
            params = dict(model.named_parameters())
            for key, value in saved.items():
                if key in params:
                    if params[key].shape != value.shape:
                        raise ValueError(f"{folder}: {key} has shape {tuple(value.shape)}, "
                                         f"the config gives {tuple(params[key].shape)}")
                    params[key].copy_(value)
    model.eval()
    return model.to(device), cfg


def save_model(model: Any, folder: str | Path, extra_files: dict[str, Any] | None = None,
               overwrite: bool = False) -> Path:
    """Write the model atomically (HF files + POSITIONS.md + any JSON ``extra_files``)."""
    from backend.workspace.atomic import atomic_dir

    folder = Path(folder)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()       # job output is progress events, not tqdm bars
    with atomic_dir(folder, overwrite=overwrite) as tmp:
        model.save_pretrained(str(tmp), safe_serialization=True)
        cfg = getattr(model.config, CONFIG_KEY, None)
        kind = (cfg or {}).get("kind", "rope")
        (tmp / "POSITIONS.md").write_text(
            f"# Position embedding: {kind}\n\nSettings: `config.json[\"{CONFIG_KEY}\"]` = "
            f"`{json.dumps(cfg)}`\n\nNote: {PLAIN_WARNING}.\n", encoding="utf-8")
        for name, obj in (extra_files or {}).items():
            if callable(obj):
                obj(tmp)
            else:
                (tmp / name).write_text(json.dumps(obj, indent=1), encoding="utf-8")
    return folder


def spectrum(model: Any) -> dict:
    """Per layer and head: which base frequency each rotary pair carries (for the panel)."""
    from backend.positions.encodings import base_spectrum

    conf = model.config
    encs = encodings_of(model)
    head_dim = getattr(conf, "head_dim", None) or conf.hidden_size // conf.num_attention_heads
    half = head_dim // 2
    inv = encs[0].inv_freq.tolist() if encs and hasattr(encs[0], "inv_freq") else []
    cfg = getattr(conf, CONFIG_KEY, None) or {}
    kv = getattr(conf, "num_key_value_heads", None) or conf.num_attention_heads
    floor = None
    if cfg.get("kind") == "fope" and cfg.get("clip", True):
        import math

        floor = 2 * math.pi / cfg["train_len"] * cfg.get("floor_ratio", 1.0)
    return {"kind": cfg.get("kind", "rope"), "inv_freq": inv, "floor": floor, "head_dim": head_dim,
            "layers": [base_spectrum(e, half, kv) for e in encs]}


def convert(source: str | Path, out: str | Path, cfg: PositionConfig, overwrite: bool = False) -> dict:
    """Add FoPE (``cfg``) to an existing Llama/Qwen2-style HF model and save it with its tokenizer."""
    import shutil

    from transformers import AutoModelForCausalLM

    source = Path(source)
    if position_config(source) is not None:
        raise ValueError(f"{source}: already has a Benchtop position scheme; convert a plain HF model")
    model = AutoModelForCausalLM.from_pretrained(str(source), attn_implementation="sdpa", dtype=torch.float32)
    apply_positions(model, cfg)
    keep = [p for p in source.iterdir() if p.is_file() and not p.name.endswith((".safetensors", ".bin", ".json"))
            or p.name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                          "generation_config.json", "vocab.json", "added_tokens.json")]

    def copy_side_files(tmp: Path) -> None:
        for p in keep:
            if not (tmp / p.name).exists():
                shutil.copy2(p, tmp / p.name)

    save_model(model, out, extra_files={"_side": copy_side_files}, overwrite=overwrite)
    encs = encodings_of(model)
    d_in = getattr(encs[0], "d_in", None) if encs else None
    d_out = getattr(encs[0], "d_out", None) if encs else None
    return {"out": str(out), "source": str(source), "positions": cfg.to_dict(), "layers": len(encs),
            "retained_frequencies": d_in, "carrying_pairs": d_out, "warning": PLAIN_WARNING}
