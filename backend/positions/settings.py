"""Settings of the FoPE lab (torch-free, so the CLI parser and the panel build instantly).

``PositionConfig`` is what a saved model records under ``config.json["benchtop_positions"]``;
``FopeTrainParams`` / ``FopeEvalParams`` are the job settings the CLI and panel are built from.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from backend.params import Params, param

KINDS = ("rope", "fope", "nope", "alibi")
CONFIG_KEY = "benchtop_positions"


@dataclass
class PositionConfig:
    """How positions enter attention. The FoPE fields follow the official code's options.

    ``train_len`` fixes the clipping floor (2π/train_len × floor_ratio): it is the training
    length, never the evaluation length. ``sigma`` is the xavier gain of the random part of the
    coefficients (0 = identity, i.e. "clip floor only"); ``cap`` "quarter" keeps at most
    head_dim/4 position-carrying pairs as in the reference, "none" keeps every retained one.
    ``sin_pad`` is the constant written to the sine of non-carrying pairs: 0 (vLLM, a clean
    zero-frequency component) or 1 (the reference code; doubles those pairs' dot product).
    ``norm`` divides each output column of the coefficients by its sum (the appendix-style
    reproduction; off in the repo). With clip=False, sigma=0 and cap="none" FoPE is RoPE.
    """

    kind: str = "rope"
    train_len: int = 64
    clip: bool = True
    floor_ratio: float = 1.0
    sigma: float = 0.3
    cap: str = "quarter"
    sin_pad: float = 0.0
    norm: bool = False
    learnable: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"position kind {self.kind!r}: must be one of {', '.join(KINDS)}")
        if self.cap not in ("quarter", "none"):
            raise ValueError(f"FoPE cap {self.cap!r}: must be quarter or none")
        if self.train_len < 1:
            raise ValueError(f"train_len={self.train_len}: must be at least 1")
        if self.sigma < 0:
            raise ValueError(f"FoPE sigma={self.sigma}: must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PositionConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown position setting(s): {', '.join(unknown)}")
        return cls(**d)


@dataclass
class FopeTrainParams(Params):
    """Train a tiny char-level causal LM from scratch with one position embedding."""

    label: ClassVar[str] = "fope train"
    pos: str = param("fope", title="Position embedding", choices=KINDS,
                     help="how positions enter attention: rotary, Fourier (FoPE), none, or linear biases")
    train_len: int = param(64, title="Training length", min=8, max=4096, help="tokens per training window")
    steps: int = param(600, title="Steps", min=1, max=1_000_000, help="optimizer steps")
    batch: int = param(32, title="Batch", min=1, max=1024, help="windows per step")
    lr: float = param(2e-3, title="Learning rate", min=0.0, min_exclusive=True, log=True)
    seed: int = param(0, title="Seed", min=0, help="model init, FoPE coefficients and batch order")
    layers: int = param(2, title="Layers", min=1, max=48, advanced=True)
    d_model: int = param(128, title="Width", min=8, max=4096, advanced=True, help="hidden size")
    heads: int = param(4, title="Heads", min=1, max=64, advanced=True)
    recall_frac: float = param(0.25, title="Recall share", min=0.0, max=1.0,
                               help="share of training windows carrying a key-value needle (the recall task)")
    sigma: float = param(0.3, title="FoPE σ", min=0.0, max=10.0, advanced=True,
                         help="gain of the random part of FoPE's coefficients (0 = clip floor only)")
    clip: bool = param(True, title="FoPE clip floor", advanced=True,
                       help="zero the frequencies whose period is longer than the training length")
    cap: str = param("quarter", title="FoPE width cap", choices=("quarter", "none"), advanced=True,
                     help="quarter: at most head_dim/4 position-carrying pairs (reference); none: all retained")
    sin_pad: float = param(0.0, title="FoPE sine pad", choices=(0.0, 1.0), advanced=True,
                           help="sine of the non-carrying pairs: 0 (vLLM) or 1 (reference code)")
    norm: bool = param(False, title="FoPE column norm", advanced=True,
                       help="divide each coefficient column by its sum (appendix-style reproduction)")
    learnable: bool = param(False, title="FoPE learnable", advanced=True,
                            help="train the coefficients (fixed in the released configs)")
    threads: int = param(1, title="CPU threads", min=1, max=256, advanced=True,
                         help="torch threads while the job runs on CPU; these models are too small to split "
                              "across threads, and on a busy machine more threads are much slower")

    def check(self) -> None:
        if self.d_model % self.heads:
            self.fail("d_model", f"must be divisible by the number of heads ({self.heads})")
        if (self.d_model // self.heads) % 2:
            self.fail("d_model", "head width (d_model / heads) must be even for rotary pairs")

    def position_config(self) -> PositionConfig:
        return PositionConfig(kind=self.pos, train_len=self.train_len, clip=self.clip, sigma=self.sigma,
                              cap=self.cap, sin_pad=self.sin_pad, norm=self.norm, learnable=self.learnable,
                              seed=self.seed)


@dataclass
class FopeEvalParams(Params):
    """Perplexity and key-value recall of a model at several evaluation lengths."""

    label: ClassVar[str] = "fope eval"
    lengths: tuple[int, ...] = param((64, 128, 256, 512), title="Lengths", min=2, max=65536,
                                     help="evaluation window lengths, comma separated")
    windows: int = param(24, title="Windows", min=1, max=10000,
                         help="text windows per length for perplexity (fewer when the text is short)")
    trials: int = param(32, title="Recall trials", min=0, max=10000, help="needle trials per length (0 = skip)")
    seed: int = param(0, title="Seed", min=0, help="needle placement and values")
    threads: int = param(1, title="CPU threads", min=1, max=256, advanced=True,
                         help="torch threads while the job runs on CPU")

    def check(self) -> None:
        if not self.lengths:
            self.fail("lengths", "give at least one length")


@dataclass
class FopeConvertParams(Params):
    """Add FoPE to an existing HF Llama/Qwen2-style model (for fine-tuning)."""

    label: ClassVar[str] = "fope convert"
    train_len: int = param(4096, title="Training length", min=1, max=10_000_000,
                           help="the source model's training length (sets the clipping floor)")
    sigma: float = param(0.0, title="FoPE σ", min=0.0, max=10.0,
                         help="gain of the extra frequencies (0 = off: the model is unchanged at conversion)")
    clip: bool = param(False, title="Clip floor", help="zero frequencies below 2π/train_len")
    cap: str = param("none", title="Width cap", choices=("quarter", "none"))
    seed: int = param(0, title="Seed", min=0)

    def position_config(self) -> PositionConfig:
        return PositionConfig(kind="fope", train_len=self.train_len, clip=self.clip, sigma=self.sigma,
                              cap=self.cap, seed=self.seed, learnable=True)
