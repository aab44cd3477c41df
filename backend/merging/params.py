"""Settings of the merging jobs: the one place their defaults, limits and help are written.

Read by the jobs (``from_params``), the CLI (generated ``--options``) and the merging panel (a
bound form). Torch-free, like the method table they list.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.merging.registry import METHODS, NAMES
from backend.params import Params, param

TSWITCH = "tswitch"


def _drop() -> Any:
    return param(0.6, title="Drop r", min=0.0, max=100.0, step=0.05, decimals=2,
                 help="T-Switch drop ratio r: share of each sign's entries dropped (above 1 reads as percent)")


def _knob() -> Any:
    return param("tensor", title="Knob", choices=("tensor", "row"),
                 help="one knob per tensor (the reference) or per matrix row (Benchtop's option: "
                      "32 bits more per row, counted in the storage table)")


def _check_drop(p: Params) -> None:
    drop = getattr(p, "drop")
    if drop == 1.0 or drop >= 100.0:
        p.fail("drop", "must be below 1 (a ratio) or between 1 and 100 (a percentage)")


@dataclass
class TSwitchParams(Params):
    """T-Switch: each task vector becomes a packed mask, its signs and one knob."""

    label = "T-Switch"
    drop: float = _drop()
    knob: str = _knob()

    def check(self) -> None:
        _check_drop(self)


@dataclass
class MergeRunParams(Params):
    """A static merge from a mergekit config (the config itself is an input of the run)."""

    label = "merge"
    seed: int = param(0, title="Seed", min=0, help="seed of DARE's random masks")


@dataclass
class MergeEvalParams(Params):
    """Greedy exact match of one model on prompt/answer sets."""

    label = "merge-eval"
    tasks: tuple[str, ...] = param((), title="Tasks", help="comma-separated zoo task names or JSONL files")
    limit: int | None = param(None, title="Examples per task", min=1, help="first N examples per task")
    max_new_tokens: int = param(0, title="Longest answer", min=0,
                                help="tokens per answer (0: 2048 for real models, 8 for the demo zoo)")

    def check(self) -> None:
        if not self.tasks:
            self.fail("tasks", "name at least one task")


@dataclass
class AutoSwitchParams(Params):
    """Route one prompt over a T-Switch folder by kNN on the base model's features."""

    label = "Auto-Switch"
    prompt: str = param("add(23,41)=", title="Prompt", help="the prompt to route and answer")
    k: int = param(10, title="Neighbours", min=1, max=1000, help="k of the kNN over the query sets")
    hard: bool = param(False, title="Hard routing", help="all weight on the most likely task")


# mergekit parameter -> setting of MergeStudyParams ("lambda" is a Python keyword)
_FIELD_OF = {"weight": "weight", "density": "density", "lambda": "lam", "t": "t"}


@dataclass
class MergeStudyParams(Params):
    """One merge (or T-Switch) of the fine-tunes over their base, with per-task accuracy."""

    label = "merging"
    method: str = param(TSWITCH, title="Method", choices=(TSWITCH, *NAMES),
                        help="T-Switch, or a mergekit method (see the method table)")
    drop: float = _drop()
    knob: str = _knob()
    weight: float = param(1.0, title="Weight", min=0.0, max=4.0, step=0.1, decimals=2,
                          help="per-model weight (mergekit 'weight')")
    density: float = param(0.5, title="Density", min=0.0, min_exclusive=True, max=1.0, step=0.05, decimals=2,
                           help="share of each task vector kept (mergekit 'density')")
    lam: float = param(1.0, title="Lambda", min=0.0, max=4.0, step=0.1, decimals=2,
                       help="scale of the merged task vector (mergekit 'lambda')")
    t: float = param(0.5, title="t (SLERP)", min=0.0, max=1.0, step=0.05, decimals=2,
                     help="SLERP position: 0 = base, 1 = the fine-tune (mergekit 't')")
    limit: int = param(60, title="Eval examples", min=1, max=1000, step=4,
                       help="examples per task for the accuracy table")

    def check(self) -> None:
        _check_drop(self)

    @staticmethod
    def used_by(method: str) -> tuple[str, ...]:
        """The settings ``method`` reads (the panel enables only these)."""
        if method == TSWITCH:
            return ("drop", "knob")
        return tuple(_FIELD_OF[p] for p in METHODS[method].parameters if p in _FIELD_OF)

    def method_params(self) -> dict[str, Any]:
        """What the study job hands the method: only the parameters it reads, by mergekit's names
        (T-Switch's per-row knob only when chosen, so the record stays as short as the choice)."""
        if self.method == TSWITCH:
            return {"drop": self.drop, **({"knob": self.knob} if self.knob != "tensor" else {})}
        names = {v: k for k, v in _FIELD_OF.items()}
        return {names[f]: getattr(self, f) for f in self.used_by(self.method)}

    @classmethod
    def from_record(cls, params: dict[str, Any]) -> MergeStudyParams:
        """Settings from a run's params, also in the older nested form ``{"method", "params": {...}}``."""
        flat = {k: v for k, v in params.items() if k != "params"}
        for key, value in (params.get("params") or {}).items():
            flat[_FIELD_OF.get(key, key)] = value
        if flat.get("limit") is None:
            flat.pop("limit", None)
        return cls.from_params(flat)
