"""Method keys and display titles, kept torch-free so the CLI parser and the GUI can list them."""
from __future__ import annotations

METHODS = ("delta-dct", "bitdelta", "dare", "magnitude", "lowrank")
TITLES = {"delta-dct": "Delta-DCT", "bitdelta": "BitDelta", "dare": "DARE", "magnitude": "Magnitude pruning",
          "lowrank": "Low-rank (SVD)"}
DISTILLABLE = ("delta-dct", "bitdelta")  # methods whose stored scales scale distillation can refit
DISTILL_STEPS = 200                      # default steps of scale distillation (distill.DistillConfig)
# payload bits per parameter beyond which a method has nothing left to spend them on: Delta-DCT's
# widest level, BitDelta's / DARE's fp16-equivalent, magnitude pruning's 48 bits per kept entry,
# the low-rank factors' full rank for any shape
MAX_BITS = {"delta-dct": 16.0, "bitdelta": 16.0, "dare": 16.0, "magnitude": 48.0, "lowrank": 32.0}
MIN_BITS = {"bitdelta": 1.0}             # one sign pass


def check_bits(method: str, bits: object, label: str = "--bits") -> float:
    """``bits`` as a float inside the method's valid range, else ValueError saying the range.

    Refuses NaN and infinity (they would be written into delta.json as non-standard JSON) and
    budgets a method cannot spend (they used to be clamped silently)."""
    import math

    try:
        b = float(bits)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be a number, got {bits!r}") from None
    lo, hi = MIN_BITS.get(method, 0.0), MAX_BITS.get(method, 16.0)
    low = f"[{lo:g}" if lo > 0 else f"({lo:g}"
    if not math.isfinite(b) or b <= 0 or b < lo or b > hi:
        raise ValueError(f"{label} for {method} must be a finite number in {low}, {hi:g}], got {bits}")
    return b
