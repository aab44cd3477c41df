"""Picking a strategy's answer among its candidates, shared by the flat strategies and the tree search.

An answer-less candidate never wins (``backend.mathgrade``): majority vote counts equivalent
answers together, ties go to the answer seen first; Best-of-N takes the highest aggregated score
among candidates with an answer (first on ties); weighted votes sum aggregated scores per answer.
Beam search and DVTS pick by weighted vote over their finished beams. (Its own module so that
``strategies`` may import ``tree`` and ``tree`` need not import ``strategies`` back.)
"""
from __future__ import annotations

from collections.abc import Sequence

from backend.tts.data import Problem
from backend.tts.types import Budget, Candidate, ProblemResult


def extract(text: str) -> str | None:
    from backend.mathgrade import extract_answer

    ans = extract_answer(text)
    return ans if ans is not None and str(ans).strip() else None


def is_correct(answer: str | None, reference: str | None) -> bool | None:
    """None when the problem has no reference answer; a missing answer is wrong."""
    if reference is None:
        return None
    if answer is None:
        return False
    from backend.mathgrade import is_equivalent

    return bool(is_equivalent(answer, reference))


def select(strategy: str, cands: Sequence[Candidate]) -> int | None:
    """Index of the winning candidate (its answer is the strategy's answer), or None."""
    from backend.mathgrade import is_equivalent, majority_vote

    with_answer = [i for i, c in enumerate(cands) if c.answer is not None]
    if not with_answer:
        return None
    if strategy in ("greedy",):
        return with_answer[0]
    if strategy == "bon":
        return max(with_answer, key=lambda i: (cands[i].score or 0.0, -i))
    weights = None if strategy == "majority" else [float(c.score or 0.0) for c in cands]
    answer, _support = majority_vote([c.answer for c in cands], weights=weights)
    if answer is None:
        return None
    members = [i for i in with_answer if is_equivalent(cands[i].answer, answer)] or with_answer
    if strategy == "majority":
        return members[0]
    return max(members, key=lambda i: (cands[i].score or 0.0, -i))


def finish(problem: Problem, strategy: str, n: int, cands: list[Candidate], budget: Budget,
           tree: list[dict] | None = None) -> ProblemResult:
    win = select(strategy, cands)
    answer = None if win is None else cands[win].answer
    return ProblemResult(problem.index, strategy, n, answer, is_correct(answer, problem.answer), budget, cands,
                         tree, win)
