"""The merge methods as a table: what each one is called, needs and reads (torch-free).

One row per method, in the spirit of mergekit's method registry, so that the config parser, the
merge loop, the per-layer statistics, the CLI and the panel ask the table instead of branching on
the method's name. The numerical rules themselves are in ``backend/merging/methods.py``.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MergeMethod:
    """One merge method and the mergekit defaults it runs with."""

    name: str                    # mergekit's ``merge_method``
    title: str                   # what the panel shows
    needs_base: bool             # needs ``base_model``
    parameters: tuple[str, ...]  # the mergekit parameters it reads (per model or global)
    normalize: bool = False      # mergekit's default of ``normalize``
    rescale: bool | None = None  # mergekit's default of ``rescale`` (None: the method has no rescale)
    sparsify: str | None = None  # how a task vector is trimmed: "magnitude", "dare", "breadcrumbs"
    sign_election: bool = False  # TIES sign consensus over the kept deltas
    min_models: int = 1          # fine-tuned models besides the base
    max_models: int | None = None
    base_in_models: bool = False  # the base, when also listed in models, takes part (linear)
    help: str = ""


TABLE: tuple[MergeMethod, ...] = (
    MergeMethod("linear", "Linear (weighted average)", False, ("weight",), normalize=True, base_in_models=True,
                help="weighted average of the models' weights"),
    MergeMethod("task_arithmetic", "Task arithmetic", True, ("weight", "lambda"),
                help="base + lambda x sum of weighted task vectors"),
    MergeMethod("ties", "TIES", True, ("weight", "density", "lambda"), normalize=True, sparsify="magnitude",
                sign_election=True, help="keep the largest entries, elect a sign, average the agreeing ones"),
    MergeMethod("dare_ties", "DARE + TIES", True, ("weight", "density", "lambda"), normalize=True, rescale=True,
                sparsify="dare", sign_election=True, help="random drop and rescale, then TIES sign election"),
    MergeMethod("dare_linear", "DARE (linear)", True, ("weight", "density", "lambda"), rescale=True,
                sparsify="dare", help="random drop and rescale, then a weighted sum"),
    MergeMethod("breadcrumbs", "Model breadcrumbs", True, ("weight", "density", "gamma", "lambda"), rescale=False,
                sparsify="breadcrumbs", help="drop the largest and the smallest entries of each task vector"),
    MergeMethod("model_stock", "Model Stock", True, (), min_models=2,
                help="interpolate towards the mean by the angle between the task vectors"),
    MergeMethod("slerp", "SLERP (base ↔ one model)", True, ("t",), min_models=1, max_models=1,
                help="spherical interpolation from the base (t = 0) to one model (t = 1)"),
)

METHODS: dict[str, MergeMethod] = {m.name: m for m in TABLE}
NAMES: tuple[str, ...] = tuple(METHODS)


def get_method(name: str) -> MergeMethod:
    """The table row of ``name``; ValueError listing the methods otherwise."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown merge method {name!r}; choose one of {', '.join(NAMES)}") from None


def check_model_count(method: MergeMethod, n: int) -> None:
    """Refuse a number of fine-tuned models the method cannot merge (message names the method)."""
    if method.max_models == 1 and n != 1:
        raise ValueError(f"{method.name} interpolates the base with exactly one other model; the config lists {n}")
    if n < method.min_models:
        count = {1: "one", 2: "two"}.get(method.min_models, str(method.min_models))
        raise ValueError(f"{method.name} needs at least {count} fine-tuned models besides the base")
