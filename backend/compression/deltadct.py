"""Delta-DCT (arXiv 2503.06676) for one weight delta: patches → importance → bit widths → DCT →
per-patch quantization → rescale, and its exact inverse.

Stored fields per tensor (see ``artifact.py`` for the container):
  ``codes``  packed codes, grouped by width (ascending), patches in index order within a width
  ``params`` quantizer parameters (uint8 log scale, or bf16 min/max) of every kept (width > 0) patch, same order
  ``bitmap`` packed index into the level set, one per patch
  ``alpha``  the rescale factor (fp32)
Only ``codes`` is payload; the rest is metadata and is counted as such.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from backend.compression import alloc
from backend.compression.params import CompressParams
from backend.compression.bitpack import pack_codes, packed_nbytes, unpack_codes
from backend.compression.dct import (dct2, dct2_loop, dct_matrix, from_patches, idct2, idct2_loop, padded_shape,
                                    to_patches)
from backend.compression.quant import LOG_STEPS, dequantize, quantize

RESCALES = ("ls", "mean-abs", "none")
_DEFAULTS = CompressParams()  # the one place the defaults are written


@dataclass(frozen=True)
class DCTConfig:
    """Settings of Delta-DCT; defaults are the measured choice (docs/compression.md), written once
    in ``backend.compression.params.CompressParams``."""
    patch: int = _DEFAULTS.patch
    levels: tuple[int, ...] = alloc.DEFAULT_LEVELS
    alloc: str = "rd"                  # "rd" or "mix"
    mix: dict | None = None            # {bits: fraction} when alloc == "mix"
    quantizer: str = _DEFAULTS.quantizer  # "uniform" or "minmax"
    rescale: str = _DEFAULTS.rescale      # "ls", "mean-abs" or "none"
    scope: str = _DEFAULTS.scope          # bit budget per tensor, or shared by all tensors ("model")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["levels"] = list(self.levels)
        d["mix"] = None if self.mix is None else {str(k): v for k, v in self.mix.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DCTConfig":
        d = dict(d)
        d["levels"] = tuple(int(b) for b in d.get("levels", alloc.DEFAULT_LEVELS))
        d["mix"] = alloc.parse_mix(d.get("mix"))
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def check(self) -> None:
        if self.patch < 1:
            raise ValueError(f"patch size must be positive, got {self.patch}")
        if self.rescale not in RESCALES:
            raise ValueError(f"unknown rescale {self.rescale!r}; choose one of {', '.join(RESCALES)}")
        if self.scope not in ("model", "tensor"):
            raise ValueError(f"unknown allocation scope {self.scope!r}; choose model or tensor")
        if self.alloc not in ("rd", "mix"):
            raise ValueError(f"unknown allocation {self.alloc!r}; choose rd or mix")
        if self.alloc == "mix" and not self.mix:
            raise ValueError("allocation 'mix' needs a mix such as 2:0.5,0:0.5")
        if self.mix and any(b not in self.levels for b in self.mix):
            raise ValueError(f"mix {self.mix} uses widths outside the level set {self.levels}")


def _map_bits(n_levels: int) -> int:
    return max(1, math.ceil(math.log2(n_levels)))


def rescale_factor(delta: torch.Tensor, recon: torch.Tensor, how: str) -> float:
    """Per-tensor rescale: least squares ⟨Δ,Δ̂⟩/‖Δ̂‖², mean |Δ|/mean |Δ̂| (reimplementation), or 1."""
    if how == "none":
        return 1.0
    if how == "ls":
        den = float((recon.double() ** 2).sum())
        return float((delta.double() * recon.double()).sum()) / den if den > 0 else 1.0
    den = float(recon.abs().double().mean())
    return float(delta.abs().double().mean()) / den if den > 0 else 1.0


def _quantize_loop(y: torch.Tensor, b: int, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    parts = [quantize(y[i:i + 1], b, kind) for i in range(y.shape[0])]
    return torch.cat([c for c, _ in parts]), torch.cat([s for _, s in parts])


def patch_energy(delta: torch.Tensor, p: int, device: str = "cpu") -> torch.Tensor:
    """‖P_k‖² of every patch (equal in the DCT domain: the transform is orthonormal)."""
    return to_patches(delta.to(device=device, dtype=torch.float32), p).pow(2).sum((1, 2))


def encode(delta: torch.Tensor, bits: float, cfg: DCTConfig = DCTConfig(), device: str = "cpu",
           per_patch_loop: bool = False, widths: torch.Tensor | None = None,
           ) -> tuple[dict[str, torch.Tensor], torch.Tensor, dict]:
    """Compress a 2-D delta to ``bits`` payload bits per parameter.

    Returns (fields, reconstruction as the decoder will produce it, info with the realised mix and
    the bit map per patch for the heatmap). ``per_patch_loop`` runs the straightforward loop
    instead of the batched products (same output; for the benchmark and tests). ``widths`` (one
    per patch) overrides the allocation: the model-wide allocation is planned by the caller.
    """
    cfg.check()
    p = cfg.patch
    x = delta.to(device=device, dtype=torch.float32)
    shape = tuple(x.shape)
    c = dct_matrix(p, device)
    patches = to_patches(x, p)
    y = (dct2_loop(patches, c) if per_patch_loop else dct2(patches, c)).reshape(patches.shape[0], p * p)
    energy = y.pow(2).sum(1)
    if widths is not None:
        widths = widths.to(device).long()
    elif cfg.alloc == "mix" and cfg.mix is not None:  # validate() requires a mix with alloc="mix"
        widths = alloc.allocate_mix(energy, cfg.mix)
    else:
        widths = alloc.allocate_rd(energy, p * p, bits * x.numel(), cfg.levels, cfg.quantizer)
    recon = torch.zeros_like(y)
    codes_buf, params = [], []
    for b in sorted(int(v) for v in torch.unique(widths).tolist()):
        if b == 0:
            continue
        idx = torch.nonzero(widths == b).squeeze(1)
        q, s = (_quantize_loop if per_patch_loop else quantize)(y[idx], b, cfg.quantizer)
        recon[idx] = dequantize(q, s, b, cfg.quantizer)
        codes_buf.append(pack_codes(q.cpu().numpy(), b))
        params.append(s.cpu())
    out = from_patches((idct2_loop if per_patch_loop else idct2)(recon.reshape(-1, p, p), c), shape, p)
    alpha = float(np.float32(rescale_factor(x, out, cfg.rescale)))  # as stored
    level_index = {b: i for i, b in enumerate(cfg.levels)}
    map_codes = np.array([level_index[int(b)] for b in widths.cpu().tolist()], dtype=np.int64)
    fields = {
        "codes": torch.from_numpy(np.concatenate(codes_buf) if codes_buf else np.zeros(0, np.uint8)),
        "params": torch.cat(params).reshape(-1) if params else
        torch.zeros(0, dtype=torch.bfloat16 if cfg.quantizer == "minmax" else torch.uint8),
        "bitmap": torch.from_numpy(pack_codes(map_codes, _map_bits(len(cfg.levels)))),
        "alpha": torch.tensor([alpha], dtype=torch.float32),
    }
    grid = padded_shape(shape, p)
    info = {"mix": alloc.mix_of(widths), "bitmap": widths.reshape(grid[0] // p, grid[1] // p).cpu().numpy()}
    return fields, (out * alpha).cpu(), info


def stored_widths(fields: dict[str, torch.Tensor], shape: tuple[int, ...], cfg: DCTConfig,
                  name: str = "tensor") -> torch.Tensor:
    """The bit width of every patch (row-major patch order), read from the stored bit map."""
    p = cfg.patch
    grid = padded_shape(tuple(shape), p)
    n = (grid[0] // p) * (grid[1] // p)
    try:
        map_codes = unpack_codes(fields["bitmap"].numpy(), _map_bits(len(cfg.levels)), n)
    except ValueError as exc:
        raise ValueError(f"{name}: bit map does not fit {n} patches ({exc})") from None
    if map_codes.size and map_codes.max() >= len(cfg.levels):
        raise ValueError(f"{name}: bit map holds level {int(map_codes.max())}, only {len(cfg.levels)} levels")
    return torch.tensor(np.asarray(cfg.levels)[map_codes] if n else np.zeros(0, np.int64))


def scale_block(cfg: DCTConfig) -> int | None:
    """Granularity of the stored scales that scale distillation may change: one per patch for the
    uniform quantizer (a patch decodes to its codes times one scale), else the tensor's rescale."""
    return cfg.patch if cfg.quantizer == "uniform" else None


def rescale_fields(fields: dict[str, torch.Tensor], shape: tuple[int, ...], cfg: DCTConfig,
                   log_mult: torch.Tensor) -> dict[str, torch.Tensor]:
    """Fields whose decoded delta is multiplied by exp(``log_mult``): per patch (a grid of patches,
    uniform quantizer), rounded to the stored 1/8-octave scale grid; or per tensor (a scalar) on
    the fp32 rescale factor. Codes and bit map are untouched, so the size does not change."""
    out = dict(fields)
    if log_mult.dim() == 0:
        out["alpha"] = (fields["alpha"].float() * float(log_mult.exp())).to(torch.float32)
        return out
    widths = stored_widths(fields, shape, cfg)
    order = torch.cat([torch.nonzero(widths == b).squeeze(1)
                       for b in sorted(int(v) for v in torch.unique(widths).tolist()) if b > 0] or
                      [torch.zeros(0, dtype=torch.long)])
    step = torch.round(log_mult.reshape(-1).float().cpu()[order] * (LOG_STEPS / math.log(2)))
    codes = fields["params"].reshape(-1).long() + step.long()
    out["params"] = codes.clamp_(0, 255).to(torch.uint8)
    return out


def decode(fields: dict[str, torch.Tensor], shape: tuple[int, ...], cfg: DCTConfig, device: str = "cpu",
           name: str = "tensor", per_patch_loop: bool = False) -> torch.Tensor:
    """Rebuild the delta from stored fields; raises ValueError naming ``name`` when they do not fit."""
    p = cfg.patch
    widths = stored_widths(fields, shape, cfg, name)
    n = widths.numel()
    k = 2 if cfg.quantizer == "minmax" else 1
    codes = fields["codes"].numpy()
    params = fields["params"].reshape(-1, k)
    y = torch.zeros((n, p * p), dtype=torch.float32, device=device)
    cpos, ppos = 0, 0
    for b in sorted(int(v) for v in torch.unique(widths).tolist()):
        if b == 0:
            continue
        idx = torch.nonzero(widths == b).squeeze(1)
        nb = packed_nbytes(idx.numel() * p * p, b)
        if cpos + nb > codes.size or ppos + idx.numel() > params.shape[0]:
            raise ValueError(f"{name}: stored codes or scales are shorter than the bit map says")
        q = torch.from_numpy(unpack_codes(codes[cpos:cpos + nb], b, idx.numel() * p * p)).reshape(idx.numel(), p * p)
        pr = params[ppos:ppos + idx.numel()].to(device)
        if per_patch_loop:
            for j in range(idx.numel()):
                y[int(idx[j])] = dequantize(q[j:j + 1].to(device), pr[j:j + 1], b, cfg.quantizer)[0]
        else:
            y[idx.to(device)] = dequantize(q.to(device), pr, b, cfg.quantizer)
        cpos, ppos = cpos + nb, ppos + idx.numel()
    if cpos != codes.size or ppos != params.shape[0]:
        raise ValueError(f"{name}: {codes.size - cpos} code bytes / {params.shape[0] - ppos} scales left over")
    c = dct_matrix(p, device)
    out = from_patches((idct2_loop if per_patch_loop else idct2)(y.reshape(-1, p, p), c), tuple(shape), p)
    return (out * float(fields["alpha"][0])).cpu()
