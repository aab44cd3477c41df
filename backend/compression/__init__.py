"""Delta compression: Delta-DCT (arXiv 2503.06676) and baselines at the same bit budget.

``compress(base, ft, out, method, bits)`` writes a packed artifact (safetensors + JSON) with
honest size accounting; ``apply_artifact(art, base)`` rebuilds the fine-tune in memory and
``decompress(art, base, out)`` writes it as a Hugging Face folder. No Qt here.

Names are resolved lazily (PEP 562) so that building the CLI parser, which only needs
``METHODS``, does not import torch.
"""
from __future__ import annotations

from backend.lazy import lazy_getattr

_LAZY = {
    "apply_artifact": "backend.compression.apply",
    "decompress": "backend.compression.apply",
    "read_artifact": "backend.compression.apply",
    "compress": "backend.compression.artifact",
    "is_selected": "backend.compression.artifact",
    "DCTConfig": "backend.compression.deltadct",
    "METHODS": "backend.compression.names",
    "TITLES": "backend.compression.names",
}

__all__ = sorted(_LAZY)

__getattr__ = lazy_getattr('backend.compression', _LAZY)
