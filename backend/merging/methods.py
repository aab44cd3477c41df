"""Per-tensor merge rules with mergekit's semantics and defaults.

Each function takes the base tensor and the fine-tuned tensors (same shape), plus per-model
``weights``/``densities`` already resolved for this tensor, and returns the merged tensor in
float32. Where the DARE/TIES papers and mergekit differ, mergekit is the default:
``weight`` multiplies the deltas *before* TIES sign election, and DARE's ``rescale`` keeps each
delta's L1 norm (``rescale_mode="l1"``) instead of dividing by the density (``"paper"``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from backend.merging.registry import NAMES, TABLE, get_method

# what each method needs and defaults to is the table in registry.py (torch-free); these views of it
# keep the names the config parser and older callers use
METHODS = NAMES
NEEDS_BASE = {m.name for m in TABLE if m.needs_base}
DEFAULT_NORMALIZE = {m.name: m.normalize for m in TABLE}
DEFAULT_RESCALE = {m.name: m.rescale for m in TABLE if m.rescale is not None}
SLERP_COLINEAR = 0.9995  # |cos| above this: plain lerp (mergekit's threshold)


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


def model_stock(base: torch.Tensor, tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Model Stock (arXiv 2403.19522) as mergekit computes it per tensor: cos = mean pairwise
    cosine of the flattened task vectors, t = N cos / (1 + (N-1) cos), result
    t * mean(models) + (1 - t) * base. Needs two or more fine-tunes: one angle is the minimum."""
    if len(tensors) < 2:
        raise ValueError("model_stock needs at least two fine-tuned models besides the base")
    b = base.to(torch.float32).flatten()
    n = len(tensors)
    deltas = torch.empty((n, b.numel()), dtype=torch.float32)
    for i in range(n):
        torch.sub(tensors[i].to(torch.float32).flatten(), b, out=deltas[i])
    norms = deltas.norm(dim=1)
    cos = []
    for i in range(n):
        for j in range(i + 1, n):
            den = (norms[i] * norms[j]).clamp(min=1e-6)
            cos.append(((deltas[i] @ deltas[j]) / den).clamp(-1, 1))
    c = torch.stack(cos).mean()
    t = n * c / (1 + (n - 1) * c)
    # t * mean(models) + (1 - t) * base == base + t * mean(task vectors)
    return (b + t * deltas.mean(0)).view_as(base)


def merge_tensor(method: str, base: torch.Tensor | None, tensors: Sequence[torch.Tensor], weights: list[float],
                 densities: list[float], *, normalize: bool | None = None, rescale: bool | None = None,
                 lam: float = 1.0, gammas: list[float] | None = None, rescale_mode: str = "l1",
                 generator: torch.Generator | None = None, t: float | None = None) -> torch.Tensor:
    """Merge one tensor. Floating-point work happens in float32; the caller casts the result.

    ``slerp`` interpolates from ``base`` to the single tensor in ``tensors`` by ``t``;
    ``model_stock`` ignores the weights, as mergekit does."""
    spec = get_method(method)
    if spec.needs_base and base is None:
        raise ValueError(f"{method} needs a base model")
    if method == "slerp":
        if len(tensors) != 1:
            raise ValueError(f"slerp interpolates the base with exactly one other model, got {len(tensors)}")
        if t is None:
            raise ValueError("slerp needs the parameter t (0 = base, 1 = the other model)")
        return slerp(float(t), base, tensors[0])
    if method == "model_stock":
        return model_stock(base, tensors)
    normalize = spec.normalize if normalize is None else normalize
    n = len(tensors)
    if method == "linear":
        total = float(sum(weights))
        scale = [w / total if normalize and total != 0 else w for w in weights]  # one model: itself exactly
        out = tensors[0].to(torch.float32) * scale[0]
        for i in range(1, n):
            out.add_(tensors[i].to(torch.float32), alpha=scale[i])
        return out
    if base is None:  # every method from here on subtracts the base (get_method says so)
        raise ValueError(f"{method} needs a base model")
    b = base.to(torch.float32)
    # One (n, *shape) buffer holds the task vectors and is edited in place, so a tensor costs
    # about n + 2 copies of itself whatever the method (``tensors`` may read lazily from disk).
    stacked = torch.empty((n, *b.shape), dtype=torch.float32)
    for i in range(n):
        torch.sub(tensors[i].to(torch.float32), b, out=stacked[i])
    # a method without a rescale step (TIES, task arithmetic) ignores the setting, as mergekit does
    rescale = spec.rescale is not None and (spec.rescale if rescale is None else rescale)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    if spec.sparsify is not None:
        for i, dens in enumerate(densities):
            d = stacked[i]
            if spec.sparsify == "magnitude":
                m = magnitude_mask(d, dens)
            elif spec.sparsify == "breadcrumbs":
                m = breadcrumbs_mask(d, dens, (gammas or [0.01] * n)[i])
            else:
                m = dare_mask(d, dens, gen)
            before = d.abs().sum() if rescale and rescale_mode == "l1" else None
            d.mul_(m)
            del m
            if rescale:
                if before is not None:
                    after = d.abs().sum()
                    if after > 0:
                        d.mul_(before / after)  # mergekit: keep the delta's L1 norm
                elif dens > 0:
                    d.div_(dens)  # the DARE paper: 1 / keep probability
    for i, w in enumerate(weights):
        stacked[i].mul_(w)
    if spec.sign_election:
        sign = sign_consensus(stacked)
        stacked.mul_(sign)  # entries agreeing with the elected sign are now > 0
        denom = torch.zeros_like(b) if normalize else None
        if denom is not None:
            for i, w in enumerate(weights):
                denom.add_((stacked[i] > 0).to(torch.float32), alpha=w)
        stacked.clamp_(min=0)
        merged = stacked.sum(0).mul_(sign)
        if normalize:
            merged = torch.where(denom != 0, merged / torch.where(denom != 0, denom, 1.0), 0.0)
    else:
        merged = stacked.sum(0)
        if normalize:
            total = float(sum(weights))
            merged = merged / total if total != 0 else merged
    del stacked
    return merged.mul_(lam).add_(b)
