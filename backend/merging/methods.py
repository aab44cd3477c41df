"""Per-tensor merge rules with mergekit's semantics and defaults.

Each function takes the base tensor and the fine-tuned tensors (same shape), plus per-model
``weights``/``densities`` already resolved for this tensor, and returns the merged tensor in
float32. Where the DARE/TIES papers and mergekit differ, mergekit is the default:
``weight`` multiplies the deltas *before* TIES sign election, and DARE's ``rescale`` keeps each
delta's L1 norm (``rescale_mode="l1"``) instead of dividing by the density (``"paper"``).
"""
from __future__ import annotations

import torch

METHODS = ("linear", "task_arithmetic", "ties", "dare_linear", "dare_ties", "breadcrumbs")
NEEDS_BASE = {"task_arithmetic", "ties", "dare_linear", "dare_ties", "breadcrumbs"}
# mergekit's per-method defaults for the global parameters
DEFAULT_NORMALIZE = {"linear": True, "task_arithmetic": False, "ties": True, "dare_linear": False,
                     "dare_ties": True, "breadcrumbs": False}
DEFAULT_RESCALE = {"dare_linear": True, "dare_ties": True, "breadcrumbs": False}


def magnitude_mask(delta: torch.Tensor, density: float) -> torch.Tensor:
    """Keep the top ``int(density * numel)`` entries of |delta| (a global top-k over the tensor)."""
    if density >= 1.0:
        return torch.ones_like(delta, dtype=torch.bool)
    k = int(density * delta.numel())
    mask = torch.zeros(delta.numel(), dtype=torch.bool)
    if k > 0:
        mask[torch.topk(delta.abs().flatten(), k).indices] = True
    return mask.view_as(delta)


def breadcrumbs_mask(delta: torch.Tensor, density: float, gamma: float) -> torch.Tensor:
    """Drop the top ``gamma`` fraction by magnitude, then the smallest, leaving int(density*numel)."""
    n = delta.numel()
    keep = int(density * n)
    top = int(gamma * n)
    if keep + top > n:
        top = n - keep
    order = torch.argsort(delta.abs().flatten(), descending=True)
    mask = torch.zeros(n, dtype=torch.bool)
    mask[order[top:top + keep]] = True
    return mask.view_as(delta)


def dare_mask(delta: torch.Tensor, density: float, generator: torch.Generator) -> torch.Tensor:
    """Bernoulli keep mask with probability ``density`` (density 1 keeps everything)."""
    if density >= 1.0:
        return torch.ones_like(delta, dtype=torch.bool)
    return torch.rand(delta.shape, generator=generator) < density


def _rescale_l1(original: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
    """Scale ``kept`` so its L1 norm equals the original delta's (mergekit's DARE rescale)."""
    before, after = original.abs().sum(), kept.abs().sum()
    return kept * (before / after) if after > 0 else kept


def sign_consensus(weighted: torch.Tensor) -> torch.Tensor:
    """TIES sign election over stacked weighted deltas: sign of the sum, 0 counted as +."""
    total = weighted.sum(dim=0)
    return torch.where(total >= 0, 1.0, -1.0)


def merge_tensor(method: str, base: torch.Tensor | None, tensors: list[torch.Tensor], weights: list[float],
                 densities: list[float], *, normalize: bool | None = None, rescale: bool | None = None,
                 lam: float = 1.0, gammas: list[float] | None = None, rescale_mode: str = "l1",
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Merge one tensor. Floating-point work happens in float32; the caller casts the result."""
    if method not in METHODS:
        raise ValueError(f"unknown merge method {method!r}; choose one of {', '.join(METHODS)}")
    normalize = DEFAULT_NORMALIZE[method] if normalize is None else normalize
    xs = [t.to(torch.float32) for t in tensors]
    w = torch.tensor(weights, dtype=torch.float32).view(-1, *([1] * xs[0].dim()))
    if method == "linear":
        total = float(sum(weights))
        if normalize and total != 0:  # normalise the weights first: one model merges to itself exactly
            w = w / total
        return (torch.stack(xs) * w).sum(0)
    if base is None:
        raise ValueError(f"{method} needs a base model")
    b = base.to(torch.float32)
    deltas = [x - b for x in xs]
    rescale = DEFAULT_RESCALE.get(method, False) if rescale is None else rescale
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    if method in ("ties", "dare_ties", "dare_linear", "breadcrumbs"):
        kept = []
        for i, (d, dens) in enumerate(zip(deltas, densities)):
            if method == "ties":
                m = magnitude_mask(d, dens)
            elif method == "breadcrumbs":
                m = breadcrumbs_mask(d, dens, (gammas or [0.01] * len(deltas))[i])
            else:
                m = dare_mask(d, dens, gen)
            k = d * m
            if rescale and method != "ties":
                k = _rescale_l1(d, k) if rescale_mode == "l1" else (k / dens if dens > 0 else k)
            kept.append(k)
        deltas = kept
    stacked = torch.stack(deltas) * w
    if method in ("ties", "dare_ties"):
        sign = sign_consensus(stacked)
        agree = (torch.sign(stacked) == sign) & (stacked != 0)
        merged = (stacked * agree).sum(0)
        if normalize:
            denom = (w * agree).sum(0)
            merged = torch.where(denom != 0, merged / torch.where(denom != 0, denom, 1.0), 0.0)
    else:
        merged = stacked.sum(0)
        if normalize:
            total = float(sum(weights))
            merged = merged / total if total != 0 else merged
    return b + lam * merged
