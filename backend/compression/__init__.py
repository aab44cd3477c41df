"""Delta compression: Delta-DCT (arXiv 2503.06676) and baselines at the same bit budget.

``compress(base, ft, out, method, bits)`` writes a packed artifact (safetensors + JSON) with
honest size accounting; ``apply_artifact(art, base)`` rebuilds the fine-tune in memory and
``decompress(art, base, out)`` writes it as a Hugging Face folder. No Qt here.
"""
from backend.compression.apply import apply_artifact, decompress, read_artifact
from backend.compression.artifact import compress, is_selected
from backend.compression.deltadct import DCTConfig
from backend.compression.methods import METHODS, TITLES

__all__ = ["DCTConfig", "METHODS", "TITLES", "apply_artifact", "compress", "decompress", "is_selected",
           "read_artifact"]
