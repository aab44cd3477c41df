"""Artifacts that verify themselves: digests of the stored bytes and range checks of what they decode to.

A flipped byte in a packed payload still decodes (every bit pattern is some code), so without a
digest a damaged artifact silently changes weights. ``delta.json`` records the SHA-256 of
``delta.safetensors`` and the file holds a CRC-32 per compressed tensor (``crc``: all its fields
in field order) and per exact tensor (``crc_x``), so a mismatch names the damaged tensor. Scales
and decoded deltas are range-checked as well: a digest proves the bytes are the ones written,
not that the writer was sane (an ``alpha`` of 1e30 passes any digest).
"""
from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Iterable

import torch

VALUE_LIMIT = 1e4   # |scale| and |decoded delta| above this are no fine-tune (fp16 tops out at 65504)


def tensor_bytes(t: torch.Tensor) -> bytes:
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def crc32(tensors: Iterable[torch.Tensor]) -> int:
    """CRC-32 of the tensors' bytes, as a signed int32 (what an int32 table stores)."""
    c = 0
    for t in tensors:
        c = zlib.crc32(tensor_bytes(t), c)
    return c - (1 << 32) if c >= 1 << 31 else c


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def damaged_tensor(data: dict[str, torch.Tensor], fields: list[str], starts: dict[str, list[int]],
                   names: list[str]) -> str | None:
    """Name of the first tensor whose bytes no longer match its stored CRC, or None."""
    table = data.get("crc")
    if table is not None and table.numel() == len(names):
        for i, name in enumerate(names):
            got = crc32(data["f." + k][starts[k][i]:starts[k][i + 1]] for k in fields if k in starts)
            if got != int(table[i]):
                return name
    exact = sorted(k[2:] for k in data if k.startswith("x."))
    table_x = data.get("crc_x")
    if table_x is not None and table_x.numel() == len(exact):
        for i, name in enumerate(exact):
            if crc32([data["x." + name]]) != int(table_x[i]):
                return name
    return None


def check_values(where: str, name: str, what: str, t: torch.Tensor, limit: float = VALUE_LIMIT) -> None:
    """ValueError (one line naming the tensor) when a float field or decoded delta is not finite or absurd."""
    if not t.is_floating_point() or t.numel() == 0:
        return
    f = t.float()
    if not bool(torch.isfinite(f).all()):
        raise ValueError(f"{where}: tensor {name}: {what} holds non-finite values (damaged or forged artifact)")
    peak = float(f.abs().max())
    if peak > limit:
        raise ValueError(f"{where}: tensor {name}: {what} reaches {peak:.3g}, outside the plausible range "
                         f"±{limit:g} (damaged or forged artifact)")


def check_finite_number(label: str, value: object) -> float:
    """``value`` as a finite float, or ValueError naming ``label``."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{label} must be a finite number, got {value!r}")
    return v
