"""The four position schemes as small modules an attention layer calls on its queries and keys.

Every module offers ``rotate(q, k, positions)`` (rotary schemes; identity otherwise) and
``score_bias(q_pos, k_pos, n_heads)`` (ALiBi; None otherwise), so one attention forward serves all
of them. FoPE follows the official code (TsinghuaC3I/Fourier-Position-Embedding, ``olmo/model.py``),
re-written here: base frequencies ω_i, the floor 2π/L·ratio below which ω is clipped to zero (and
dropped from the basis), D_out = min(D_in, head_dim/4) position-carrying pairs, and per-(KV-)head
fixed coefficient matrices = step identity + N(0, xavier std with gain σ), separately for cos and sin.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from backend.positions.settings import PositionConfig


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """NeoX "halves" layout, the one HF Llama/Qwen2 and the reference use."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _apply(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    return x * cos + rotate_half(x) * sin


class NoPositions(nn.Module):
    """NoPE: causal attention alone carries order."""

    kind = "nope"

    def rotate(self, q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return q, k

    def score_bias(self, q_pos: torch.Tensor, k_pos: torch.Tensor, n_heads: int) -> torch.Tensor | None:
        return None


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """Geometric slopes 2^(-8i/n) (Press et al.); for a head count that is not a power of two the
    closest power's slopes are completed with every other slope of the next one, as in the paper."""
    def power_of_two(n: int) -> list[float]:
        start = 2.0 ** (-8.0 / n)
        return [start ** (i + 1) for i in range(n)]

    if math.log2(n_heads).is_integer():
        return torch.tensor(power_of_two(n_heads))
    low = 2 ** math.floor(math.log2(n_heads))
    return torch.tensor(power_of_two(low) + power_of_two(2 * low)[0::2][: n_heads - low])


class ALiBi(NoPositions):
    """Linear distance penalty -m_h·(i - j) on the attention scores; no rotation."""

    kind = "alibi"

    def __init__(self, n_heads: int) -> None:
        super().__init__()
        self.register_buffer("slopes", alibi_slopes(n_heads), persistent=False)

    def score_bias(self, q_pos: torch.Tensor, k_pos: torch.Tensor, n_heads: int) -> torch.Tensor:
        dist = (q_pos[:, :, None] - k_pos[:, None, :]).to(torch.float32)     # (B, Tq, Tk)
        return -self.slopes.view(1, -1, 1, 1) * dist.clamp(min=0)[:, None]    # (B, H, Tq, Tk)


class Rotary(NoPositions):
    """RoPE with the host model's own inverse frequencies and attention scaling."""

    kind = "rope"

    def __init__(self, inv_freq: torch.Tensor, scaling: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("inv_freq", inv_freq.detach().to(torch.float32).clone(), persistent=False)
        self.scaling = float(scaling)

    def tables(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ang = positions[..., None].to(torch.float32) * self.inv_freq       # (B, T, h/2)
        ang = torch.cat((ang, ang), dim=-1)[:, None]                       # (B, 1, T, h)
        return ang.cos() * self.scaling, ang.sin() * self.scaling

    def rotate(self, q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cos, sin = self.tables(positions)
        return _apply(q, cos.to(q.dtype), sin.to(q.dtype)), _apply(k, cos.to(k.dtype), sin.to(k.dtype))


class Fourier(Rotary):
    """FoPE: each carrying pair's cos/sin is a per-head weighted sum of the retained frequencies."""

    kind = "fope"

    def __init__(self, inv_freq: torch.Tensor, n_kv_heads: int, cfg: PositionConfig, scaling: float = 1.0,
                 layer: int = 0) -> None:
        super().__init__(inv_freq, scaling)
        self.cfg = cfg
        half = inv_freq.numel()
        floor = 2 * math.pi / cfg.train_len * cfg.floor_ratio
        keep = (self.inv_freq >= floor) if cfg.clip else torch.ones(half, dtype=torch.bool)
        keep &= self.inv_freq > 0
        self.register_buffer("kept", keep.nonzero().flatten(), persistent=False)
        d_in = int(self.kept.numel())
        d_out = min(d_in, (2 * half) // 4) if cfg.cap == "quarter" else d_in
        self.d_in, self.d_out, self.half, self.sin_pad = d_in, d_out, half, float(cfg.sin_pad)
        gen = torch.Generator().manual_seed(int(cfg.seed) * 1000 + layer)
        coefs = [self._init(n_kv_heads, d_in, d_out, cfg.sigma, gen, cfg.norm) for _ in range(2)]
        self.cos_coef = nn.Parameter(coefs[0], requires_grad=cfg.learnable)
        self.sin_coef = nn.Parameter(coefs[1], requires_grad=cfg.learnable)

    @staticmethod
    def _init(heads: int, d_in: int, d_out: int, sigma: float, gen: torch.Generator, norm: bool) -> torch.Tensor:
        """Step identity (row floor(i·D_in/D_out) -> column i) plus xavier-normal noise of gain σ
        (std = σ·sqrt(2 / (D_out·(D_in + heads))), PyTorch's fan rule for a 3-D tensor).

        The reference steps by ceil(D_in/D_out), which runs past the last row when D_out does not
        divide D_in (h=64, L=1024: 18 -> 16); the floor spread equals it whenever it divides."""
        coef = torch.zeros(heads, d_in, d_out)
        if d_out == 0:
            return coef
        for i in range(d_out):
            coef[:, (i * d_in) // d_out, i] = 1.0
        if sigma > 0:
            std = sigma * math.sqrt(2.0 / (d_out * (d_in + heads)))
            coef = coef + torch.randn(coef.shape, generator=gen) * std
        if norm:
            coef = coef / coef.sum(dim=1, keepdim=True)
        return coef

    def tables(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ang = positions[..., None].to(torch.float32) * self.inv_freq[self.kept]   # (B, T, D_in)
        cos = torch.einsum("btd,hdo->bhto", ang.cos(), self.cos_coef.to(torch.float32))
        sin = torch.einsum("btd,hdo->bhto", ang.sin(), self.sin_coef.to(torch.float32))
        pad = self.half - self.d_out
        if pad:
            shape = (*cos.shape[:-1], pad)
            cos = torch.cat((cos, cos.new_ones(shape)), dim=-1)
            sin = torch.cat((sin, sin.new_full(shape, self.sin_pad)), dim=-1)
        cos, sin = torch.cat((cos, cos), dim=-1), torch.cat((sin, sin), dim=-1)   # (B, Hkv, T, h)
        return cos * self.scaling, sin * self.scaling

    def rotate(self, q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cos, sin = self.tables(positions)
        groups = q.shape[1] // cos.shape[1]       # GQA: a KV head's coefficients serve its query group
        qcos = cos.repeat_interleave(groups, dim=1) if groups > 1 else cos
        qsin = sin.repeat_interleave(groups, dim=1) if groups > 1 else sin
        return _apply(q, qcos.to(q.dtype), qsin.to(q.dtype)), _apply(k, cos.to(k.dtype), sin.to(k.dtype))

    def spectrum(self) -> dict:
        """Which base frequency each carrying pair holds, per head: |coefficient| on the full
        frequency grid (pairs × base frequencies); clipped frequencies are all-zero columns."""
        heads = self.cos_coef.shape[0]
        grid = torch.zeros(heads, self.half, self.half)
        mag = (self.cos_coef.detach().abs() + self.sin_coef.detach().abs()) / 2      # (H, D_in, D_out)
        rows = grid[:, : self.d_out]            # a view: writing into it fills ``grid``
        rows[:, :, self.kept] = mag.transpose(1, 2)
        return {"energy": grid.tolist(), "kept": self.kept.tolist(), "d_in": self.d_in, "d_out": self.d_out}


def make_encoding(cfg: PositionConfig, inv_freq: torch.Tensor, n_heads: int, n_kv_heads: int,
                  scaling: float = 1.0, layer: int = 0) -> NoPositions:
    """The module for ``cfg.kind`` (inv_freq and scaling come from the host model's rotary module)."""
    if cfg.kind == "rope":
        return Rotary(inv_freq, scaling)
    if cfg.kind == "fope":
        return Fourier(inv_freq, n_kv_heads, cfg, scaling, layer)
    if cfg.kind == "alibi":
        return ALiBi(n_heads)
    return NoPositions()


def base_spectrum(enc: NoPositions, half: int, heads: int) -> dict:
    """The spectrum of any scheme in FoPE's terms: RoPE is the identity grid, NoPE/ALiBi empty."""
    if isinstance(enc, Fourier):
        return enc.spectrum()
    if isinstance(enc, Rotary):
        eye = torch.eye(half).expand(heads, half, half)
        return {"energy": eye.tolist(), "kept": list(range(half)), "d_in": half, "d_out": half}
    return {"energy": torch.zeros(heads, half, half).tolist(), "kept": [], "d_in": 0, "d_out": 0}
