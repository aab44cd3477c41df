"""Majority vote over answers, grouping equivalent answers together.

Rule (shared by test-time scaling and TTRL): answers that are None or blank never vote, so a
group where most samples gave no answer still elects the best stated answer, or nothing.
Each remaining answer joins the first earlier group whose representative it is equivalent to
(``is_equivalent``), so ``0.5``, ``1/2`` and ``\\frac{1}{2}`` vote together. The group with the
largest support (count, or the sum of ``weights``) wins; ties go to the group seen first. The
returned answer is that group's first member, as written.
"""
from __future__ import annotations

from typing import Sequence

from backend.mathgrade.equivalence import is_equivalent


def majority_vote(answers: Sequence[str | None], weights: Sequence[float] | None = None) -> tuple[str | None, float]:
    """``(winning answer or None, its support)``; support is a count, or a weight sum if weighted."""
    if weights is not None and len(weights) != len(answers):
        raise ValueError(f"majority_vote: {len(answers)} answers but {len(weights)} weights")
    reps: list[str] = []
    support: list[float] = []
    for i, a in enumerate(answers):
        if a is None or not str(a).strip():
            continue
        w = 1.0 if weights is None else float(weights[i])
        for g, rep in enumerate(reps):
            if rep == a or is_equivalent(a, rep):
                support[g] += w
                break
        else:
            reps.append(str(a))
            support.append(w)
    if not reps:
        return None, 0 if weights is None else 0.0
    best = max(range(len(reps)), key=lambda g: (support[g], -g))
    s = support[best]
    return reps[best], (int(s) if weights is None else s)
