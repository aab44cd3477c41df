"""Splitting a solution into steps, and aggregating step scores into one solution score."""
from __future__ import annotations

import math
import re
from typing import Sequence

SPLIT_MODES = ("auto", "blank", "step", "line", "regex")
AGGREGATIONS = ("min", "last", "prod", "mean")
_STEP_LABEL = re.compile(r"(?im)^\s*(?:#+\s*)?Step\s+\d+\s*[:.]\s*")
_ANSWER_LINE = re.compile(r"(?im)^\s*(?:final\s+)?answer\s*:")


def split_steps(text: str, mode: str = "auto", pattern: str | None = None) -> list[str]:
    """The steps of ``text``.

    ``blank``: paragraphs separated by blank lines (ProcessBench, search-and-learn). ``step``:
    ``Step k:`` labels start steps (the label is removed; text before ``Step 1`` is dropped; a
    final ``Answer:`` line is the outcome, not a step, and is dropped). ``line``: one non-empty line
    per step. ``regex``: ``re.split(pattern)``. ``auto``: ``step`` when a ``Step 1:`` label exists,
    else ``blank`` when there is a blank line, else ``line``. Steps are stripped; empty ones dropped.
    """
    if mode not in SPLIT_MODES:
        raise ValueError(f"unknown split mode {mode!r}; use one of {', '.join(SPLIT_MODES)}")
    if mode == "auto":
        mode = "step" if _STEP_LABEL.search(text) else "blank" if re.search(r"\n\s*\n", text) else "line"
    if mode == "regex":
        if not pattern:
            raise ValueError("split mode 'regex' needs a pattern")
        try:
            parts = re.split(pattern, text)
        except re.error as exc:
            raise ValueError(f"bad step pattern {pattern!r}: {exc}") from None
    elif mode == "blank":
        parts = re.split(r"\n\s*\n", text)
    elif mode == "line":
        parts = text.splitlines()
    else:
        parts = _STEP_LABEL.split(text)[1:]
        if parts:
            last = parts[-1]
            m = _ANSWER_LINE.search(last)
            if m:
                parts[-1] = last[:m.start()]
    return [p.strip() for p in parts if p and p.strip()]


def label_step(step: str, label: str, k: int) -> str:
    """``step`` with the label ``label`` (``"Step {k}: "``) for step ``k``, unless it already
    starts with a ``Step n:`` label (PRMs trained on labelled steps, Math-Shepherd)."""
    if _STEP_LABEL.match(step):
        return step
    return label.replace("{k}", str(k)) + step


def clean_step(step: str, separator: str) -> str:
    """A step as the PRM sees it: stripped, with any copy of the separator inside it replaced by a
    space, so a step that contains the marker cannot produce an extra score (research note §6.9)."""
    s = str(step)
    sep = separator.strip() or separator
    if sep:
        s = s.replace(sep, " ")
    return s.strip()


def aggregate(scores: Sequence[float], how: str = "min") -> float:
    """One solution score from step scores: ``min``, ``last``, ``prod`` or ``mean`` (``avg`` is an
    alias of ``mean``). Raises on an empty list: a solution without steps has no score."""
    how = "mean" if how == "avg" else how
    if how not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {how!r}; use one of {', '.join(AGGREGATIONS)}")
    if len(scores) == 0:
        raise ValueError("cannot aggregate an empty list of step scores")
    vals = [float(x) for x in scores]
    if how == "min":
        return min(vals)
    if how == "last":
        return vals[-1]
    if how == "prod":
        return math.prod(vals)
    return sum(vals) / len(vals)


def first_error(scores: Sequence[float], threshold: float = 0.5) -> int:
    """Index of the first step scored strictly below ``threshold`` (a score equal to the threshold
    counts as correct), or -1 when none is."""
    for i, s in enumerate(scores):
        if float(s) < threshold:
            return i
    return -1
