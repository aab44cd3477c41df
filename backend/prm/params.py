"""Settings of the PRM jobs: the one place their defaults, limits and help are written.

Read by the jobs (``parse_params``), the CLI (generated ``--options``) and the PRM panel (a bound
form per tab). :class:`PRMParams` holds what every PRM job reads (format, threshold, precision,
and the generative verifier's sampling); ``prm.score`` adds how solution text splits into steps,
``prm.processbench`` how many records to use. The PRM names (``prm``, ``prm_b``) and the data
(``items``, ``out``, ``data``) are inputs, not settings. Torch-free.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar, cast

from backend.params import Params, param, split_params
from backend.prm.descriptor import PRESETS
from backend.prm.steps import SPLIT_MODES

DTYPES = ("auto", "float32", "bfloat16", "float16")
NOT_SETTINGS = ("prm", "prm_b", "items", "out", "data")   # keys of a PRM job's params that are inputs


@dataclass
class PRMParams(Params):
    """How to load and read a PRM: its format, the error threshold, and a generative verifier's sampling."""

    label = "PRM"
    preset: str = param("auto", title="Format", choices=("auto", *PRESETS),
                        help="input format of a PRM folder without benchtop_prm.json (auto: its descriptor, or an "
                             "unambiguous guess; an unrecognised folder is refused, never guessed)")
    threshold: float = param(0.5, title="Threshold", min=0.0, max=1.0, step=0.05, decimals=2,
                             help="a step scored below this is wrong (the first such step is the predicted error)")
    samples: int = param(0, title="Samples", min=0, max=64,
                         help="generative PRMs: judgements sampled and averaged per step (0: the PRM's own, "
                              "1 for GenPRM)")
    max_new_tokens: int = param(0, title="Judgement tokens", min=0, advanced=True,
                                help="generative PRMs: most tokens of one judgement (0: the PRM's own, 256 for "
                                     "GenPRM)")
    seed: int = param(0, title="Seed", min=0, advanced=True, help="generative PRMs: sampling seed")
    batch_size: int = param(64, title="Batch size", min=1, advanced=True,
                            help="solutions per forward batch (generative PRMs: prompts per generate call)")
    dtype: str = param("auto", title="Precision", choices=DTYPES, advanced=True,
                       help="weights: auto (bf16 on CUDA, else fp32), float32, bfloat16, float16")

    def preset_name(self) -> str | None:
        """The preset to load with (None: the folder's descriptor or an unambiguous guess)."""
        return None if self.preset == "auto" else self.preset


@dataclass
class PRMScoreParams(PRMParams):
    """Score every step of each solution with one PRM, or two side by side."""

    label = "PRM score"
    split: str = param("auto", title="Split", choices=SPLIT_MODES,
                       help="how solution text becomes steps: auto, blank lines, 'Step k:' labels, lines, or a regex")
    pattern: str = param("", title="Split regex", advanced=True, help="the regex of split=regex")

    def check(self) -> None:
        if self.split == "regex" and not self.pattern:
            self.fail("pattern", "split=regex needs a pattern")


@dataclass
class ProcessBenchParams(PRMParams):
    """Earliest-error F1 per subset and averaged at the threshold, plus a threshold sweep."""

    label = "ProcessBench"
    limit: int = param(0, title="Records used", min=0, help="use only the first K records (0 = all)")


S = TypeVar("S", bound=PRMParams)


def parse_params(cls: type[S], params: dict[str, Any] | None) -> tuple[S, dict[str, Any]]:
    """A PRM job's params as (its settings, the inputs kept in params: ``prm``, ``items``, ...):
    the one place they are split (another settings group is one more class in ``split_params``)."""
    params = dict(params or {})
    inputs = {k: params.pop(k) for k in NOT_SETTINGS if k in params}
    (settings,) = split_params(params, cls)
    return cast(S, settings), inputs
