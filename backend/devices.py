"""Explicit device choice: what is available is detected at run time, never assumed."""
from __future__ import annotations

import re

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def available_devices() -> list[str]:
    """Devices a job can run on here, CPU first; detected by asking torch (imported lazily)."""
    devices = ["cpu"]
    try:
        import torch
    except ImportError:  # the GUI can start before torch is installed
        return devices
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(name: str) -> str:
    """Turn a user's choice (`auto`, `cpu`, `cuda`, `cuda:N`, `mps`) into a concrete device string.

    Raises ValueError naming the device when it is malformed or not present, so a job fails
    before it starts rather than silently falling back to the CPU.
    """
    name = (name or "auto").strip().lower()
    if not DEVICE_PATTERN.match(name):
        raise ValueError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps")
    available = available_devices()
    if name == "auto":
        for candidate in available:
            if candidate.startswith("cuda"):
                return candidate
        return "mps" if "mps" in available else "cpu"
    if name == "cuda":
        name = "cuda:0"
    if name not in available:
        raise ValueError(f"device {name!r} is not available here (available: {', '.join(available)})")
    return name
