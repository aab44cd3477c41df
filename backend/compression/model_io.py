"""Compression's view of model folders: the shared reader and writer of ``backend.models.tensors``.

Kept as a module so existing imports (``artifact.py``, ``apply.py``, benches) read on; there is
one implementation, in ``backend/models/tensors.py``.
"""
from __future__ import annotations

from backend.models.tensors import (
                                    ShardWriter,
                                    TensorEntry,
                                    fingerprint,
                                    index_tensors,
                                    read_tensor,
                                    save_shards,
                                    weight_files,
)

__all__ = ["ShardWriter", "TensorEntry", "fingerprint", "index_tensors", "read_tensor", "save_shards",
           "weight_files"]
