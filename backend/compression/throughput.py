"""Throughput of the batched Delta-DCT against a straightforward per-patch loop (same tensors)."""
from __future__ import annotations

import time

import torch

from backend.compression import deltadct


def measure(deltas: list[torch.Tensor], bits: float = 1.0, cfg: deltadct.DCTConfig = deltadct.DCTConfig(),
            device: str = "cpu") -> dict:
    """Parameters per second for compression and decompression, batched and looped, and ratios.

    The loop reference transforms and quantizes one patch at a time (``per_patch_loop``); both
    produce identical codes, so the ratio is pure implementation speed.
    """
    n = sum(d.numel() for d in deltas)
    out = {"params": n, "device": device}
    for mode, loop in (("batched", False), ("loop", True)):
        t0 = time.perf_counter()
        enc = [deltadct.encode(d, bits, cfg, device, per_patch_loop=loop) for d in deltas]
        t1 = time.perf_counter()
        for (fields, _, _), d in zip(enc, deltas):
            deltadct.decode(fields, tuple(d.shape), cfg, device, per_patch_loop=loop)
        t2 = time.perf_counter()
        out[f"compress_{mode}_params_per_s"] = n / (t1 - t0)
        out[f"decompress_{mode}_params_per_s"] = n / (t2 - t1)
    out["compress_ratio"] = out["compress_batched_params_per_s"] / out["compress_loop_params_per_s"]
    out["decompress_ratio"] = out["decompress_batched_params_per_s"] / out["decompress_loop_params_per_s"]
    return out
