"""Bit-width allocation over patches by importance (patch energy), to a target average.

Two ways, both monotone in importance rank (a more important patch never gets fewer bits):

* ``rd`` (default): a Lagrangian rate–distortion allocation. Each patch k picks the width b from
  the allowed set minimising ``E_k·d(b) + λ·b·n`` (E_k = ‖P_k‖², n = coefficients per patch,
  d(b) = relative MSE of the Gaussian uniform quantizer at b bits); λ is bisected so the total
  bits meet the budget. It adapts the mix to how concentrated each tensor's energy is.
* ``mix``: a fixed mix such as {2: 0.5, 0: 0.5}: the top-ranked fraction gets the most bits.
"""
from __future__ import annotations

import math

import torch

DEFAULT_LEVELS = (0, 1, 2, 3, 4, 8, 16)
# relative MSE of the (Max 1960) optimum uniform quantizer on a unit Gaussian; high-rate above
_D = {0: 1.0, 1: 0.3634, 2: 0.1188, 3: 0.03744, 4: 0.01154}


def distortion(bits: int, quantizer: str = "uniform") -> float:
    """Modelled relative MSE of a patch quantized at ``bits`` (1.0 when dropped).

    min–max spans the patch's range (about ±2.8σ for 256 Gaussian coefficients), so its MSE is
    step²/12 = 2.6/(2^b − 1)²: above 1 at one bit — worse than dropping, so never chosen."""
    if bits == 0:
        return 1.0
    if quantizer == "minmax":
        return 2.6 / (2 ** bits - 1) ** 2
    return _D.get(bits, 2.95 * 4.0 ** (-bits))


def parse_mix(text: str | dict | None) -> dict[int, float] | None:
    """``"2:0.5,0:0.5"`` (or a dict) -> {bits: fraction}; fractions must sum to 1."""
    if text is None or text == "" or text == "auto":
        return None
    if isinstance(text, dict):
        mix = {int(k): float(v) for k, v in text.items()}
    else:
        mix = {}
        for part in str(text).split(","):
            b, _, f = part.partition(":")
            mix[int(b)] = float(f)
    if abs(sum(mix.values()) - 1.0) > 1e-6 or any(f < 0 for f in mix.values()):
        raise ValueError(f"bit mix {text!r}: fractions must be non-negative and sum to 1")
    return mix


def allocate_mix(energy: torch.Tensor, mix: dict[int, float]) -> torch.Tensor:
    """Assign widths by rank: the highest-energy fraction gets the largest width, and so on."""
    n = energy.numel()
    order = torch.argsort(energy, descending=True, stable=True)
    bits = torch.zeros(n, dtype=torch.long, device=energy.device)
    start = 0
    items = sorted(mix.items(), reverse=True)
    for i, (b, f) in enumerate(items):
        stop = n if i == len(items) - 1 else min(n, start + int(round(f * n)))
        bits[order[start:stop]] = b
        start = stop
    return bits


def allocate_rd(energy: torch.Tensor, patch_numel: int, budget_bits: float,
                levels: tuple[int, ...] = DEFAULT_LEVELS, quantizer: str = "uniform", iters: int = 60) -> torch.Tensor:
    """Widths per patch (from ``levels``) using at most ``budget_bits`` in total (see module doc)."""
    levels = tuple(sorted(set(int(b) for b in levels)))
    if 0 not in levels:
        raise ValueError("the level set must contain 0 (dropped patches)")
    lv = torch.tensor(levels, dtype=torch.float64, device=energy.device)
    d = torch.tensor([distortion(b, quantizer) for b in levels], dtype=torch.float64, device=energy.device)
    e = energy.double()

    def pick(lam: float) -> torch.Tensor:
        cost = e[:, None] * d[None, :] + lam * lv[None, :] * patch_numel
        return lv[cost.argmin(1)]

    if float(e.sum()) == 0.0 or budget_bits <= 0:
        return torch.zeros_like(energy, dtype=torch.long)
    full = pick(0.0)
    if float(full.sum()) * patch_numel <= budget_bits:
        return full.long()
    emax = float(e.max())
    lo, hi = math.log(emax * 1e-12 + 1e-300), math.log(emax + 1e-300)   # λ range in log space
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if float(pick(math.exp(mid)).sum()) * patch_numel > budget_bits:
            lo = mid
        else:
            hi = mid
    return pick(math.exp(hi)).long()


def mix_of(bits: torch.Tensor) -> dict[int, float]:
    """The realised mix {bits: fraction of patches}."""
    vals, counts = torch.unique(bits, return_counts=True)
    n = bits.numel()
    return {int(v): int(c) / n for v, c in zip(vals.tolist(), counts.tolist())}
