"""Batched orthonormal 2-D DCT-II over the p×p patches of a matrix.

Delta-DCT transforms every patch of a weight delta. Doing that one patch at a time is a Python
loop over up to millions of patches; here a whole tensor goes through two matrix products
(``C · X · Cᵀ`` on a block view), so the work runs as a few large GEMMs on CPU or GPU. The
orthonormal DCT conserves energy, so patch norms (importance) and quantization error are the
same in both domains.
"""
from __future__ import annotations

import math

import torch


def dct_matrix(p: int, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The orthonormal DCT-II matrix C (p×p): ``C @ x`` transforms a length-p vector, ``C.T`` inverts it."""
    n = torch.arange(p, dtype=torch.float64)
    c = torch.cos(math.pi * (2 * n[None, :] + 1) * n[:, None] / (2 * p)) * math.sqrt(2.0 / p)
    c[0] /= math.sqrt(2.0)
    return c.to(device=device, dtype=dtype)


def padded_shape(shape: tuple[int, ...], p: int) -> tuple[int, int]:
    """Rows and columns rounded up to multiples of p (edge patches are zero-padded)."""
    return (-(-shape[0] // p) * p, -(-shape[1] // p) * p)


def to_patches(x: torch.Tensor, p: int) -> torch.Tensor:
    """(R, C) matrix -> (N, p, p) patches in row-major patch order, zero-padding the edges."""
    if x.dim() != 2:
        raise ValueError(f"to_patches needs a 2-D tensor, got shape {tuple(x.shape)}")
    r, c = padded_shape(tuple(x.shape), p)
    if (r, c) != tuple(x.shape):
        x = torch.nn.functional.pad(x, (0, c - x.shape[1], 0, r - x.shape[0]))
    return x.reshape(r // p, p, c // p, p).permute(0, 2, 1, 3).reshape(-1, p, p)


def from_patches(patches: torch.Tensor, shape: tuple[int, ...], p: int) -> torch.Tensor:
    """Inverse of :func:`to_patches`: reassemble and crop the padding away."""
    r, c = padded_shape(tuple(shape), p)
    x = patches.reshape(r // p, c // p, p, p).permute(0, 2, 1, 3).reshape(r, c)
    return x[: shape[0], : shape[1]]


def dct2(patches: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """2-D DCT-II of every patch at once: ``C · P · Cᵀ`` as two batched matrix products."""
    return c @ patches @ c.T


def idct2(coeffs: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Inverse 2-D DCT of every patch at once: ``Cᵀ · Y · C``."""
    return c.T @ coeffs @ c


def dct2_loop(patches: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The straightforward per-patch reference (a Python loop); used by tests and the benchmark."""
    out = torch.empty_like(patches)
    for i in range(patches.shape[0]):
        out[i] = c @ patches[i] @ c.T
    return out


def idct2_loop(coeffs: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(coeffs)
    for i in range(coeffs.shape[0]):
        out[i] = c.T @ coeffs[i] @ c
    return out
