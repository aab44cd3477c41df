"""One interface over Delta-DCT and the baselines: encode a tensor's delta into flat fields, decode it.

Fields are 1-D tensors (the container concatenates them across tensors); ``PAYLOAD`` names the
fields that are the compressed payload, everything else is metadata.
"""
from __future__ import annotations

import math

import torch

from backend.compression import baselines as bl
from backend.compression import deltadct
from backend.compression.quant import LOG_STEPS

from backend.compression.names import DISTILLABLE, METHODS, TITLES  # noqa: F401  (re-exported)

PAYLOAD = {"delta-dct": {"codes"}, "bitdelta": {"signs"}, "dare": {"values"},
           "magnitude": {"index", "values"}, "lowrank": {"u", "v"}}


def check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown compression method {method!r}; choose one of {', '.join(METHODS)}")


def encode_tensor(method: str, name: str, delta: torch.Tensor, bits: float, settings: dict,
                  device: str = "cpu", widths: torch.Tensor | None = None,
                  ) -> tuple[dict[str, torch.Tensor], torch.Tensor, dict]:
    """(flat fields, reconstruction the decoder will give, info) for one 2-D delta."""
    check_method(method)
    info: dict = {}
    if method == "delta-dct":
        fields, recon, info = deltadct.encode(delta, bits, deltadct.DCTConfig.from_dict(settings), device,
                                              widths=widths)
    elif method == "bitdelta":
        fields, recon = bl.bitdelta_encode(delta, bits)
    elif method == "dare":
        fields, recon = bl.dare_encode(delta, bits, name, int(settings.get("seed", 0)))
    elif method == "magnitude":
        fields, recon = bl.magnitude_encode(delta, bits)
    else:
        fields, recon = bl.lowrank_encode(delta, bits)
    return {k: v.reshape(-1).contiguous() for k, v in fields.items()}, recon, info


def decode_tensor(method: str, name: str, fields: dict[str, torch.Tensor], shape: tuple[int, ...], bits: float,
                  settings: dict, device: str = "cpu") -> torch.Tensor:
    """The decoded delta of one tensor; ValueError naming ``name`` when the fields do not fit."""
    check_method(method)
    missing = sorted(set(PAYLOAD[method]) - set(fields))
    if missing:
        raise ValueError(f"{name}: stored fields lack {', '.join(missing)}")
    if method == "delta-dct":
        return deltadct.decode(fields, tuple(shape), deltadct.DCTConfig.from_dict(settings), device, name)
    if method == "bitdelta":
        return bl.bitdelta_decode(fields, tuple(shape), name)
    if method == "dare":
        return bl.dare_decode(fields, tuple(shape), bits, name, int(settings.get("seed", 0)))
    if method == "magnitude":
        return bl.magnitude_decode(fields, tuple(shape), name)
    m, n = shape
    u, v = fields["u"], fields["v"]
    if u.numel() % m or v.numel() % n:
        raise ValueError(f"{name}: low-rank factors of {u.numel()} and {v.numel()} entries do not fit {tuple(shape)}")
    return bl.lowrank_decode({"u": u.reshape(m, -1), "v": v.reshape(-1, n)}, tuple(shape), name)


def default_settings(method: str, **overrides) -> dict:
    """Settings recorded in the artifact (Delta-DCT: the measured defaults)."""
    check_method(method)
    if method == "delta-dct":
        base = deltadct.DCTConfig().to_dict()
    elif method == "dare":
        base = {"seed": 0}
    else:
        base = {}
    base.update({k: v for k, v in overrides.items() if v is not None})
    if method == "delta-dct":
        cfg = deltadct.DCTConfig.from_dict(base)
        cfg.check()
        base = cfg.to_dict()
    return base


def scale_layout(method: str, settings: dict) -> tuple[int | None, float | None]:
    """(block size of one distillable scale or None for one per tensor, spacing of the stored
    scales in log units or None for floating point)."""
    if method not in DISTILLABLE:
        raise ValueError(f"scale distillation applies to {' and '.join(DISTILLABLE)}, not {method!r}")
    if method == "delta-dct":
        block = deltadct.scale_block(deltadct.DCTConfig.from_dict(settings))
        return block, (math.log(2) / LOG_STEPS if block else None)
    return None, None


def rescale_fields(method: str, settings: dict, fields: dict[str, torch.Tensor], shape: tuple[int, ...],
                   log_mult: torch.Tensor) -> dict[str, torch.Tensor]:
    """Fields whose decoded delta is scaled by exp(``log_mult``) (per block of :func:`scale_layout`),
    in the stored precision; the caller decodes them again to get exactly what is stored."""
    if method == "delta-dct":
        out = deltadct.rescale_fields(fields, tuple(shape), deltadct.DCTConfig.from_dict(settings), log_mult)
    elif method == "bitdelta":
        out = bl.bitdelta_rescale(fields, log_mult)
    else:
        raise ValueError(f"scale distillation applies to {' and '.join(DISTILLABLE)}, not {method!r}")
    return {k: v.reshape(-1).contiguous() for k, v in out.items()}
