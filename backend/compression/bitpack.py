"""Bit-packing of integer codes at any width from 1 to 16 bits (little-endian bit order).

Sizes on disk are the point of compression, so codes are stored at exactly their width: n codes
of b bits take ceil(n·b/8) bytes, nothing more.
"""
from __future__ import annotations

import numpy as np

_CHUNK = 1 << 20  # codes per chunk: bounds the temporary (n, bits) bit matrix


def packed_nbytes(n: int, bits: int) -> int:
    return (n * bits + 7) // 8


def pack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Pack non-negative integer codes (< 2**bits) into a uint8 array of ceil(n·bits/8) bytes."""
    if not 1 <= bits <= 16:
        raise ValueError(f"code width must be 1..16 bits, got {bits}")
    c = np.ascontiguousarray(codes, dtype=np.uint32).ravel()
    if c.size and int(c.max()) >= (1 << bits):
        raise ValueError(f"code {int(c.max())} does not fit in {bits} bits")
    if bits == 8:
        return c.astype(np.uint8)
    shifts = np.arange(bits, dtype=np.uint32)
    # chunk boundaries must fall on byte boundaries: chunk sizes are multiples of 8 codes
    parts = []
    for s in range(0, c.size, _CHUNK):
        bitmat = ((c[s:s + _CHUNK, None] >> shifts) & 1).astype(np.uint8)
        parts.append(bitmat.ravel())
    bits_flat = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
    return np.packbits(bits_flat, bitorder="little")


def unpack_codes(buf: np.ndarray, bits: int, n: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: n codes of ``bits`` bits as int64."""
    buf = np.ascontiguousarray(buf, dtype=np.uint8).ravel()
    need = packed_nbytes(n, bits)
    if buf.size < need:
        raise ValueError(f"packed buffer holds {buf.size} bytes, {need} needed for {n} codes of {bits} bits")
    if bits == 8:
        return buf[:n].astype(np.int64)
    flat = np.unpackbits(buf[:need], count=n * bits, bitorder="little").reshape(n, bits)
    weights = (1 << np.arange(bits, dtype=np.int64))
    return flat.astype(np.int64) @ weights
