"""Batched, seeded sampling from Hugging Face causal LMs (whole answers or one step at a time).

Used by test-time scaling (``backend.tts``). Heavy imports (torch, transformers) happen when a
submodule is imported, not here.
"""
from __future__ import annotations

__all__ = ["Completion", "GenerationStats", "Policy", "SamplingParams", "derive_seed"]


def __getattr__(name: str):
    if name in ("Completion", "GenerationStats", "Policy", "SamplingParams"):
        from backend.generation import policy

        return getattr(policy, name)
    if name == "derive_seed":
        from backend.generation.sampling import derive_seed

        return derive_seed
    raise AttributeError(name)
