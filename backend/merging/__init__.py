"""Model merging: mergekit-style static merges and T-Switch binarized task switches.

Everything streams tensor by tensor from safetensors, so peak memory is a few tensors, not
models x size. No Qt here; names resolve lazily so building the CLI imports no torch.
"""
from __future__ import annotations

from backend.lazy import lazy_getattr

_LAZY = {
    "MergeConfig": "backend.merging.config",
    "load_config": "backend.merging.config",
    "parse_config": "backend.merging.config",
    "dump_config": "backend.merging.config",
    "run_merge": "backend.merging.merge",
    "tswitch_tensor": "backend.merging.tswitch",
    "build_tswitch": "backend.merging.tswitch",
    "apply_tswitch": "backend.merging.tswitch",
}

__all__ = sorted(_LAZY)

__getattr__ = lazy_getattr('backend.merging', _LAZY)
