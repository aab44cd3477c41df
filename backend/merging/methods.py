"""Per-tensor merge rules with mergekit's semantics and defaults.

Each function takes the base tensor and the fine-tuned tensors (same shape), plus per-model
``weights``/``densities`` already resolved for this tensor, and returns the merged tensor in
float32. Where the DARE/TIES papers and mergekit differ, mergekit is the default:
``weight`` multiplies the deltas *before* TIES sign election, and DARE's ``rescale`` keeps each
delta's L1 norm (``rescale_mode="l1"``) instead of dividing by the density (``"paper"``).
"""
from __future__ import annotations

import math

import torch

METHODS = ("linear", "task_arithmetic", "ties", "dare_linear", "dare_ties", "breadcrumbs", "model_stock", "slerp")
NEEDS_BASE = {"task_arithmetic", "ties", "dare_linear", "dare_ties", "breadcrumbs", "model_stock", "slerp"}
# mergekit's per-method defaults for the global parameters
DEFAULT_NORMALIZE = {"linear": True, "task_arithmetic": False, "ties": True, "dare_linear": False,
                     "dare_ties": True, "breadcrumbs": False, "model_stock": False, "slerp": False}
SLERP_COLINEAR = 0.9995  # |cos| above this: plain lerp (mergekit's threshold)
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


def slerp(t: float, v0: torch.Tensor, v1: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Spherical interpolation of two whole tensors seen as flat vectors: t = 0 gives ``v0`` (the
    base), t = 1 gives ``v1``; nearly colinear inputs fall back to linear interpolation, because
    the angle is then too small to divide by safely."""
    a, b = v0.to(torch.float64), v1.to(torch.float64)
    na, nb = a.norm(), b.norm()
    ua = a / na if na > eps else a
    ub = b / nb if nb > eps else b
    cos = float((ua * ub).sum())
    if abs(cos) > SLERP_COLINEAR:
        out = (1 - t) * a + t * b
    else:
        theta = math.acos(cos)
        s = math.sin(theta)
        out = (math.sin((1 - t) * theta) / s) * a + (math.sin(t * theta) / s) * b
    return out.to(torch.float32)


def model_stock(base: torch.Tensor, tensors: list[torch.Tensor]) -> torch.Tensor:
    """Model Stock (arXiv 2403.19522) as mergekit computes it per tensor: cos = mean pairwise
    cosine of the flattened task vectors, t = N cos / (1 + (N-1) cos), result
    t * mean(models) + (1 - t) * base. Needs two or more fine-tunes: one angle is the minimum."""
    if len(tensors) < 2:
        raise ValueError("model_stock needs at least two fine-tuned models besides the base")
    b = base.to(torch.float32).flatten()
    xs = [x.to(torch.float32).flatten() for x in tensors]
    deltas = [x - b for x in xs]
    cos = []
    for i in range(len(deltas)):
        for j in range(i + 1, len(deltas)):
            den = (deltas[i].norm() * deltas[j].norm()).clamp(min=1e-6)
            cos.append(((deltas[i] * deltas[j]).sum() / den).clamp(-1, 1))
    c = torch.stack(cos).mean()
    n = len(xs)
    t = n * c / (1 + (n - 1) * c)
    return (t * torch.stack(xs).mean(0) + (1 - t) * b).view_as(base)


def merge_tensor(method: str, base: torch.Tensor | None, tensors: list[torch.Tensor], weights: list[float],
                 densities: list[float], *, normalize: bool | None = None, rescale: bool | None = None,
                 lam: float = 1.0, gammas: list[float] | None = None, rescale_mode: str = "l1",
                 generator: torch.Generator | None = None, t: float | None = None) -> torch.Tensor:
    """Merge one tensor. Floating-point work happens in float32; the caller casts the result.

    ``slerp`` interpolates from ``base`` to the single tensor in ``tensors`` by ``t``;
    ``model_stock`` ignores the weights, as mergekit does."""
    if method not in METHODS:
        raise ValueError(f"unknown merge method {method!r}; choose one of {', '.join(METHODS)}")
    if method in ("slerp", "model_stock") and base is None:
        raise ValueError(f"{method} needs a base model")
    if method == "slerp":
        if len(tensors) != 1:
            raise ValueError(f"slerp interpolates the base with exactly one other model, got {len(tensors)}")
        if t is None:
            raise ValueError("slerp needs the parameter t (0 = base, 1 = the other model)")
        return slerp(float(t), base, tensors[0])
    if method == "model_stock":
        return model_stock(base, tensors)
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
