"""Put a position scheme into an HF Llama/Qwen2-style model, in place.

Each layer's ``self_attn`` keeps its projections (so the checkpoint's keys are unchanged) and gets
a ``positions`` submodule plus an instance-level ``forward`` that rotates q/k with it (RoPE, FoPE)
or adds its score bias (ALiBi), then runs PyTorch's scaled-dot-product attention. The host
model's rotary module still supplies the base inverse frequencies and scaling (so RoPE variants
such as llama3 scaling carry over), but its cos/sin tables are no longer used.
"""
from __future__ import annotations

import types
from typing import Any

import torch
import torch.nn.functional as F

from backend.positions.encodings import NoPositions, make_encoding
from backend.positions.settings import CONFIG_KEY, PositionConfig


def _layers(model: Any) -> list[Any]:
    inner = getattr(model, "model", model)
    layers = getattr(inner, "layers", None)
    if layers is None or not len(layers) or not hasattr(layers[0], "self_attn"):
        raise ValueError("not a Llama/Qwen2-style model: no model.layers[i].self_attn")
    attn = layers[0].self_attn
    for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
        if not hasattr(attn, name):
            raise ValueError(f"not a Llama/Qwen2-style attention: self_attn has no {name}")
    return list(layers)


def _rotary(model: Any) -> tuple[torch.Tensor, float]:
    inner = getattr(model, "model", model)
    rot = getattr(inner, "rotary_emb", None)
    if rot is None or not hasattr(rot, "inv_freq"):
        raise ValueError("the model has no rotary_emb.inv_freq to take base frequencies from")
    inv = getattr(rot, "original_inv_freq", None)
    inv = rot.inv_freq if inv is None else inv
    return inv.detach().float().cpu(), float(getattr(rot, "attention_scaling", 1.0))


def _mask(attention_mask: Any, q_len: int, k_len: int, device: torch.device) -> torch.Tensor:
    """An additive float mask (B|1, 1|H, Tq, Tk) from whatever the model passed (None = causal)."""
    if attention_mask is None:
        causal = torch.ones(q_len, k_len, dtype=torch.bool, device=device).tril(k_len - q_len)
        return torch.zeros(q_len, k_len, device=device).masked_fill(~causal, float("-inf"))[None, None]
    m = attention_mask[..., :k_len]
    if m.dtype == torch.bool:
        return torch.zeros(m.shape, device=device).masked_fill(~m, float("-inf"))
    return m.float()


def positional_forward(self: Any, hidden_states: torch.Tensor, position_embeddings: Any = None,
                       attention_mask: torch.Tensor | None = None, cache: Any = None, **kwargs: Any):
    """The attention forward used after :func:`apply_positions` (replaces the model's own)."""
    cache = cache if cache is not None else kwargs.pop("past_key_values", None)
    shape = hidden_states.shape[:-1]
    hidden = (*shape, -1, self.head_dim)
    q = self.q_proj(hidden_states).view(hidden)
    k = self.k_proj(hidden_states).view(hidden)
    if hasattr(self, "q_norm"):          # Qwen3-style per-head norms come before the rotation
        q, k = self.q_norm(q), self.k_norm(k)
    q, k = q.transpose(1, 2), k.transpose(1, 2)
    v = self.v_proj(hidden_states).view(hidden).transpose(1, 2)
    positions = kwargs.get("position_ids")
    past = cache.get_seq_length(self.layer_idx) if cache is not None else 0
    if positions is None:
        positions = torch.arange(past, past + shape[1], device=q.device)[None]
    positions = positions.expand(shape[0], -1)
    q, k = self.positions.rotate(q, k, positions)
    if cache is not None:
        k, v = cache.update(k, v, self.layer_idx)
    groups = q.shape[1] // k.shape[1]
    if groups > 1:
        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
    q_len, k_len = q.shape[2], k.shape[2]
    k_pos = torch.arange(k_len, device=q.device)[None].expand(shape[0], -1) + (positions[:, :1] - past)
    bias = self.positions.score_bias(positions, k_pos, q.shape[1])
    if bias is None and attention_mask is None and q_len == k_len:
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=self.scaling)
    else:
        mask = _mask(attention_mask, q_len, k_len, q.device)
        if bias is not None:
            mask = mask + bias
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask.to(q.dtype), scale=self.scaling)
    out = out.transpose(1, 2).reshape(*shape, -1).contiguous()
    return self.o_proj(out), None


def apply_positions(model: Any, cfg: PositionConfig) -> Any:
    """Give every attention layer of ``model`` the scheme ``cfg`` (in place; returns the model).

    The config is recorded on ``model.config`` under ``benchtop_positions`` so ``save_pretrained``
    writes it to config.json, where :func:`backend.positions.model.load_model` finds it.
    """
    layers = _layers(model)
    inv_freq, scaling = _rotary(model)
    conf = model.config
    n_heads = conf.num_attention_heads
    n_kv = getattr(conf, "num_key_value_heads", None) or n_heads
    for i, layer in enumerate(layers):
        attn = layer.self_attn
        enc = make_encoding(cfg, inv_freq, n_heads, n_kv, scaling, layer=i)
        ref = next(attn.parameters())
        attn.positions = enc.to(device=ref.device)
        if not hasattr(attn, "layer_idx"):
            attn.layer_idx = i
        attn.forward = types.MethodType(positional_forward, attn)
    setattr(conf, CONFIG_KEY, cfg.to_dict())
    return model


def encodings_of(model: Any) -> list[NoPositions]:
    """The position module of each layer (empty when the model was not patched)."""
    return [layer.self_attn.positions for layer in _layers(model) if hasattr(layer.self_attn, "positions")]
