"""Baselines at the same payload budget (bits per parameter), each with an exact decoder.

* BitDelta (arXiv 2402.10193): sign(Δ) at 1 bit + one scale per matrix, initialised to mean|Δ|
  (L2-optimal for a sign code; Δ = 0 codes as +1 like the reference). At k ≥ 2 bits, k residual
  sign passes (each with its own scale) — a natural multi-bit extension for the curves.
  Scale distillation is in ``distill.py``.
* DARE (arXiv 2311.03099): keep each entry with probability r, rescale survivors by 1/r. The mask
  comes from a seeded generator, so only the kept values (fp16, 16 bits) are stored: r = bits/16.
* Magnitude pruning: keep the largest |Δ|; positions must be stored (int32 flat index) with the
  fp16 value: 48 bits per kept entry, so the kept share is bits/48.
* Low rank: truncated SVD, U·S and Vᵀ in fp16: rank r = ⌊bits·m·n / (16·(m+n))⌋.
All fields are payload except the per-matrix scales (metadata).
"""
from __future__ import annotations

import zlib

import numpy as np
import torch

from backend.compression.bitpack import pack_codes, unpack_codes


def bitdelta_encode(delta: torch.Tensor, bits: float) -> tuple[dict, torch.Tensor]:
    if bits < 1:
        raise ValueError(f"BitDelta needs at least 1 bit per parameter (one sign), got {bits:g}")
    k = int(bits)   # whole sign passes within the budget
    resid = delta.float().reshape(-1).clone()
    signs, scales = [], []
    recon = torch.zeros_like(resid)
    for _ in range(k):
        s = torch.where(resid >= 0, 1.0, -1.0)
        a = float(resid.abs().mean())
        a = float(np.float32(a))
        signs.append(pack_codes((s > 0).numpy().astype(np.uint8), 1))
        scales.append(a)
        recon += a * s
        resid -= a * s
    fields = {"signs": torch.from_numpy(np.concatenate(signs)), "scales": torch.tensor(scales, dtype=torch.float32)}
    return fields, recon.reshape(delta.shape)


def bitdelta_decode(fields: dict, shape: tuple[int, ...], name: str = "tensor") -> torch.Tensor:
    n = int(np.prod(shape))
    scales = fields["scales"].float()
    per = (n + 7) // 8
    buf = fields["signs"].numpy()
    if buf.size != per * scales.numel():
        raise ValueError(f"{name}: {buf.size} sign bytes for {scales.numel()} passes over {n} entries")
    out = torch.zeros(n)
    for i, a in enumerate(scales.tolist()):
        s = torch.from_numpy(unpack_codes(buf[i * per:(i + 1) * per], 1, n)).float() * 2 - 1
        out += float(a) * s
    return out.reshape(shape)


def bitdelta_rescale(fields: dict, log_mult: torch.Tensor) -> dict:
    """Fields with every pass's scale multiplied by exp(``log_mult``) (a scalar: BitDelta's
    distilled scale; at k ≥ 2 passes one factor scales them all)."""
    return {**fields, "scales": (fields["scales"].float() * float(log_mult.exp())).to(torch.float32)}


def bitdelta_signs(fields: dict, shape: tuple[int, ...]) -> list[torch.Tensor]:
    """The ±1 matrices of each pass (for scale distillation)."""
    n = int(np.prod(shape))
    per = (n + 7) // 8
    buf = fields["signs"].numpy()
    return [torch.from_numpy(unpack_codes(buf[i * per:(i + 1) * per], 1, n)).float().mul(2).sub(1).reshape(shape)
            for i in range(fields["scales"].numel())]


def _seed(name: str, seed: int) -> int:
    return (zlib.crc32(name.encode()) ^ (seed * 2654435761)) & 0x7FFFFFFF


def dare_mask(shape: tuple[int, ...], keep: float, name: str, seed: int) -> torch.Tensor:
    """The reproducible DARE mask for one tensor: exactly ⌊keep·n⌋ random entries (CPU generator,
    identical on every machine), so the stored values fit the budget exactly."""
    n = int(np.prod(shape))
    gen = torch.Generator().manual_seed(_seed(name, seed))
    mask = torch.zeros(n, dtype=torch.bool)
    mask[torch.randperm(n, generator=gen)[: int(keep * n)]] = True
    return mask


def dare_encode(delta: torch.Tensor, bits: float, name: str, seed: int = 0) -> tuple[dict, torch.Tensor]:
    keep = min(1.0, bits / 16.0)
    mask = dare_mask(tuple(delta.shape), keep, name, seed)
    vals = delta.float().reshape(-1)[mask].to(torch.float16)
    recon = torch.zeros(delta.numel())
    recon[mask] = vals.float() / keep if keep > 0 else 0.0
    return {"values": vals}, recon.reshape(delta.shape)


def dare_decode(fields: dict, shape: tuple[int, ...], bits: float, name: str, seed: int = 0) -> torch.Tensor:
    keep = min(1.0, bits / 16.0)
    mask = dare_mask(tuple(shape), keep, name, seed)
    vals = fields["values"]
    if vals.numel() != int(mask.sum()):
        raise ValueError(f"{name}: {vals.numel()} DARE values stored, mask keeps {int(mask.sum())}")
    out = torch.zeros(int(np.prod(shape)))
    if keep > 0:
        out[mask] = vals.float() / keep
    return out.reshape(shape)


def magnitude_encode(delta: torch.Tensor, bits: float) -> tuple[dict, torch.Tensor]:
    flat = delta.float().reshape(-1)
    k = min(flat.numel(), int(bits * flat.numel() / 48))
    idx = torch.topk(flat.abs(), k).indices.sort().values if k > 0 else torch.zeros(0, dtype=torch.long)
    vals = flat[idx].to(torch.float16)
    recon = torch.zeros_like(flat)
    recon[idx] = vals.float()
    return {"index": idx.to(torch.int32), "values": vals}, recon.reshape(delta.shape)


def magnitude_decode(fields: dict, shape: tuple[int, ...], name: str = "tensor") -> torch.Tensor:
    n = int(np.prod(shape))
    idx, vals = fields["index"].long(), fields["values"]
    if idx.numel() != vals.numel() or (idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n)):
        raise ValueError(f"{name}: pruning indices do not fit a tensor of {n} entries")
    out = torch.zeros(n)
    out[idx] = vals.float()
    return out.reshape(shape)


def lowrank_encode(delta: torch.Tensor, bits: float) -> tuple[dict, torch.Tensor]:
    m, n = delta.shape
    r = min(m, n, int(bits * m * n / (16 * (m + n))))
    if r == 0:
        empty = {"u": torch.zeros((m, 0), dtype=torch.float16), "v": torch.zeros((0, n), dtype=torch.float16)}
        return empty, torch.zeros(m, n)
    u, s, vh = torch.linalg.svd(delta.double(), full_matrices=False)
    us = (u[:, :r] * s[:r]).to(torch.float16)
    v = vh[:r].to(torch.float16)
    return {"u": us, "v": v}, us.float() @ v.float()


def lowrank_decode(fields: dict, shape: tuple[int, ...], name: str = "tensor") -> torch.Tensor:
    u, v = fields["u"], fields["v"]
    if u.shape[0] != shape[0] or v.shape[1] != shape[1] or u.shape[1] != v.shape[0]:
        raise ValueError(f"{name}: low-rank factors {tuple(u.shape)}·{tuple(v.shape)} do not give {tuple(shape)}")
    return u.float() @ v.float()
