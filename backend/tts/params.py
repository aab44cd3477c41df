"""Settings of the test-time scaling jobs: the one place their defaults, limits and help are written.

Read by the jobs and the searcher (``parse_params``), the CLI (generated ``--options``) and the TTS
panel (a bound form). :class:`TTSParams` is how to search (what ``Searcher`` reads); ``tts.run``
adds the strategy, ``tts.sweep`` the strategies, budgets and difficulty thresholds. The prompt
settings are a separate group (:class:`~backend.generation.prompting.PromptParams`) in the same
flat params. Torch-free.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar, cast

from backend.generation.prompting import PromptParams
from backend.params import Params, param, split_params
from backend.prm.descriptor import PRESETS
from backend.tts.scoring import AGGREGATIONS
from backend.tts.types import STRATEGIES

DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class TTSParams(Params):
    """How to search. ``n`` is the budget in samples (final candidates); beam search keeps
    ``n // beam_width`` beams and expands each ``beam_width`` times per step; DVTS runs
    ``n // beam_width`` independent subtrees, each expanding its best node ``beam_width`` times.

    ``max_tokens`` bounds a whole answer (and the last step of a tree search), ``step_tokens`` one
    step; 0 means the policy's profile default (2048/512 for real models, 96/32 for the demo zoo;
    ``backend.generation.prompting``).
    """

    label = "TTS"
    n: int = param(4, title="Budget N", min=1, help="budget: number of samples / beams")
    beam_width: int = param(4, title="Beam width M", min=1, max=1024,
                            help="beam width M: expansions per kept beam (beam), subtree width (DVTS)")
    max_steps: int = param(8, title="Max steps", min=1, max=1024, help="most steps of a tree search")
    temperature: float = param(0.8, title="Temperature", min=0.0, max=5.0, step=0.1, decimals=2,
                               help="sampling temperature")
    agg: str = param("last", title="Aggregation", choices=AGGREGATIONS,
                     help="how step scores become one solution score")
    limit: int = param(0, title="Problems used", min=0,
                       help="use only the first K problems (0 = all); more problems narrow the confidence "
                            "intervals but take longer")
    seed: int = param(0, title="Seed", min=0, help="random seed (runs reproduce exactly)")
    top_p: float = param(1.0, title="Top-p", min=0.0, min_exclusive=True, max=1.0, step=0.05, decimals=2,
                         advanced=True, help="nucleus sampling mass")
    max_tokens: int = param(0, title="Answer tokens", min=0, advanced=True,
                            help="most tokens of a whole answer (0: 2048 for real models, 96 for the demo zoo)")
    step_tokens: int = param(0, title="Step tokens", min=0, advanced=True,
                             help="most tokens of one step in tree search (0: 512 for real models, 32 for the "
                                  "demo zoo)")
    batch_size: int = param(64, title="Batch size", min=1, advanced=True, help="rows per policy forward batch")
    share_prefix: bool = param(True, title="Prefix sharing", advanced=True,
                               help="prefill identical prompts once and copy their KV cache (off: prefill every "
                                    "row separately)")
    dtype: str = param("auto", title="Precision", choices=DTYPES, advanced=True,
                       help="policy and PRM weights: auto (bf16 on CUDA, else fp32), float32, bfloat16, float16")
    prm_preset: str = param("auto", title="PRM format", choices=("auto", *PRESETS), advanced=True,
                            help="input format of a PRM folder without benchtop_prm.json (auto: its descriptor, "
                                 "or an unambiguous guess)")

    def preset(self) -> str | None:
        """The PRM preset to load with (None: the folder's own descriptor or guess)."""
        return None if self.prm_preset == "auto" else self.prm_preset

    def search_dict(self) -> dict[str, Any]:
        """The search settings alone (what a result records as its ``config``)."""
        values = self.to_dict()
        return {i.name: values[i.name] for i in TTSParams.describe()}


@dataclass
class TTSRunParams(TTSParams):
    """One strategy at one budget N on every problem."""

    label = "TTS run"
    strategy: str = param("beam", title="Strategy", choices=STRATEGIES, help="the strategy to run")


@dataclass
class TTSSweepParams(TTSParams):
    """Every chosen strategy at every budget N: curves, per-difficulty accuracy, compute-optimal table."""

    label = "TTS sweep"
    strategies: tuple[str, ...] = param(STRATEGIES, title="Strategies", choices=STRATEGIES,
                                        help="comma-separated strategies")
    ns: tuple[int, ...] = param((1, 2, 4, 8, 16), title="Budgets N", min=1,
                                help="budgets N (samples / beams), comma-separated, e.g. 1,2,4,8,16")
    thresholds: tuple[float, ...] = param((0.1, 0.5), title="Pass@1 bins", min=0.0, min_exclusive=True, max=1.0,
                                          help="Pass@1 bin edges, comma-separated (hard < a <= medium < b <= easy)")

    def check(self) -> None:
        if not self.strategies:
            self.fail("strategies", "choose at least one strategy")
        if not self.ns:
            self.fail("ns", "give at least one budget")
        if len(set(self.thresholds)) != len(self.thresholds):
            self.fail("thresholds", "bin edges must differ")


S = TypeVar("S", bound=TTSParams)


def parse_params(cls: type[S], params: dict[str, Any] | None) -> tuple[S, PromptParams]:
    """A TTS job's flat params as (its settings, the prompt settings): the one place they are split."""
    settings, prompt = split_params(params, cls, PromptParams)
    return cast(S, settings), cast(PromptParams, prompt)
