"""Method keys and display titles, kept torch-free so the CLI parser and the GUI can list them."""
from __future__ import annotations

METHODS = ("delta-dct", "bitdelta", "dare", "magnitude", "lowrank")
TITLES = {"delta-dct": "Delta-DCT", "bitdelta": "BitDelta", "dare": "DARE", "magnitude": "Magnitude pruning",
          "lowrank": "Low-rank (SVD)"}
DISTILLABLE = ("delta-dct", "bitdelta")  # methods whose stored scales scale distillation can refit
DISTILL_STEPS = 200                      # default steps of scale distillation (distill.DistillConfig)
