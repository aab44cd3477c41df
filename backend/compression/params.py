"""Settings of the ``compression.compress`` job: read by the job, ``compress`` and the panel.

The Delta-DCT and scale-distillation defaults are written here once; ``DCTConfig`` and
``DistillConfig`` take theirs from this class. Torch-free, like ``names.py`` beside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.compression.names import DISTILL_STEPS, MAX_BITS, METHODS, TITLES, check_bits
from backend.params import Params, param


@dataclass
class CompressParams(Params):
    """Compress a fine-tune's delta against its base: Delta-DCT or a baseline, at a bit budget."""

    label = "compress"
    method: str = param("delta-dct", title="Method", choices=METHODS,
                        help="; ".join(f"{k}: {v}" for k, v in TITLES.items()))
    bits: float = param(1.0, title="Budget", min=0.0, min_exclusive=True, max=max(MAX_BITS.values()), step=0.25,
                        decimals=2, help="payload bits per compressed parameter; metadata (scales, bit map, index) "
                                         "is reported on top; each method's own range applies (names.MAX_BITS)")
    patch: int = param(16, title="Patch size", min=1, max=1024, help="Delta-DCT patch size")
    quantizer: str = param("uniform", title="Quantizer", choices=("uniform", "minmax"),
                           help="Delta-DCT per-patch quantizer")
    rescale: str = param("mean-abs", title="Rescale", choices=("mean-abs", "ls", "none"),
                         help="Delta-DCT rescale step")
    scope: str = param("tensor", title="Budget scope", choices=("tensor", "model"),
                       help="Delta-DCT budget per tensor or model-wide", advanced=True)
    mix: str = param("", title="Bit mix", advanced=True,
                     help="fixed bit mix instead of rate–distortion allocation, e.g. 2:0.5,0:0.5")
    which: str = param("2d", title="Tensors", choices=("2d", "all"),
                       help="which tensors to compress (2-D weights; the rest is stored exactly)", advanced=True)
    exclude: str = param("", title="Exclude", advanced=True,
                         help="regular expression of tensor names to store exactly (e.g. lm_head)")
    distill_steps: int = param(DISTILL_STEPS, title="Steps", min=1, max=100_000, help="scale distillation steps")
    distill_lr: float = param(5e-3, title="Learning rate", min=0.0, min_exclusive=True, log=True,
                              help="scale distillation learning rate")
    evaluate: bool = param(True, title="Measure task accuracy", cli=False,
                           help="greedy exact match of base, fine-tune and compressed model (zoo fine-tunes, "
                                "or --eval FILE); the CLI turns it off with --no-eval")
    eval_limit: int | None = param(None, title="Eval examples", min=1, gui=False,
                                   help="first N examples of the eval set")
    sweep_methods: tuple[str, ...] = param((), title="Sweep methods", gui=False,
                                           help="rate–distortion sweep: compress with each of these methods "
                                                "(comma-separated) at every sweep budget; each point measured")
    sweep_bits: tuple[float, ...] = param((), title="Sweep budgets", gui=False,
                                          help="rate–distortion sweep: budgets in bits/param (comma-separated) "
                                               "for every sweep method")

    def check(self) -> None:
        try:
            check_bits(self.method, self.bits, "Budget (compress setting bits)")
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        bad = [m for m in self.sweep_methods if m not in METHODS]
        if bad:
            self.fail("sweep_methods", f"unknown method {bad[0]!r} (choose among {', '.join(METHODS)})")
        if any(not b > 0 for b in self.sweep_bits):
            self.fail("sweep_bits", "budgets must be positive")

    def settings(self) -> dict[str, Any]:
        """The method's own settings as the artifact records them (only Delta-DCT has any here)."""
        if self.method != "delta-dct":
            return {}
        s: dict[str, Any] = {"patch": self.patch, "quantizer": self.quantizer, "rescale": self.rescale,
                             "scope": self.scope}
        if self.mix:
            s.update(alloc="mix", mix=self.mix)
        return s

    def distill(self) -> dict[str, Any]:
        return {"steps": self.distill_steps, "lr": self.distill_lr}

    @classmethod
    def from_record(cls, params: dict[str, Any]) -> CompressParams:
        """Settings from a run's params, also in the older nested form (``settings``, ``distill``,
        ``sweep`` dictionaries)."""
        flat = {k: v for k, v in params.items() if k not in ("settings", "distill", "sweep")}
        for key, value in (params.get("settings") or {}).items():
            if key in ("patch", "quantizer", "rescale", "scope", "mix") and value is not None:
                flat[key] = value if key != "mix" or isinstance(value, str) else \
                    ",".join(f"{b}:{f}" for b, f in value.items())
        for key, value in (params.get("distill") or {}).items():
            if key in ("steps", "lr") and value is not None:
                flat[f"distill_{key}"] = value
        sweep = params.get("sweep") or {}
        if sweep:
            flat["sweep_methods"], flat["sweep_bits"] = list(sweep.get("methods", [])), list(sweep.get("bits", []))
        for key in ("exclude", "eval_limit"):
            if flat.get(key) is None:
                flat.pop(key, None)
        return cls.from_params(flat)
