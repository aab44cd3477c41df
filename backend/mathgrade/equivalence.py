"""Answer equivalence: ``is_equivalent(pred, ref)`` and ``explain_equivalence`` (which rule decided).

Rules, tried in order after :func:`backend.mathgrade.normalize.normalize` (each is tested in
``tests/backend/test_mathgrade.py`` with the research note's grader cases):

1. **Same text** after normalisation → equivalent.
2. **Collections.** ``\\{1,2\\}`` is a set (order-free); a bare list ``3, 5`` is the set of the
   stated answers (order-free); ``(1,2)`` and ``[1,2]`` are tuples/intervals: same bracket pair,
   same length, equivalent elements in order. So ``(1,2)`` ≠ ``[1,2]`` (open vs closed interval).
   A collection never equals a single value.
3. **Numbers** (integers, decimals, ``a/b``, ``\\frac{a}{b}``, mixed ``1\\frac12``, percentages)
   compare as exact rationals: ``0.5 = 1/2 = \\frac{2}{4}``, ``10 = 10.0``.
   *Decimal approximations*: a decimal with at least 6 decimal places equals an exact value
   within one unit of its last place (``0.3333333`` ≡ ``\\frac13``; ``0.333`` and ``3.14159`` are
   too short to stand for ``\\frac13`` or ``\\pi``).
   *Percent*: ``50\\%`` matches both ``0.5`` and ``50`` (the sign is read as ÷100 or as a unit).
   With ``percent=True`` plain numbers also match ×100/÷100 (``50`` ≡ ``0.5``; Qwen's rule); off by
   default because it makes ``1`` ≡ ``100``.
4. **Expressions** (LaTeX subset: ``\\frac``, ``\\sqrt``, ``^``, ``\\cdot``, ``\\pi``, implicit
   products) are parsed with sympy. Constants are equal when their 30-digit values agree to
   1e-12 (relative); expressions with variables must use the same variables and agree at five
   fixed sample points (so ``(x+1)^2`` ≡ ``x^2+2x+1``). Values that are not finite equal nothing.
   Grading never hangs (no SIGALRM: safe in worker threads): answers are capped in length
   and collection size, exponent towers, huge exponents and deep nesting are refused before
   parsing (:mod:`backend.mathgrade.symbolic`), and sympy runs in a worker process with a
   deadline and a memory cap (:mod:`backend.mathgrade.bounded`); over budget → not equivalent.
5. Anything else is **not** equivalent.
"""
from __future__ import annotations

import logging
import time
from functools import lru_cache

from backend.mathgrade.bounded import TIME_BUDGET_S, OverBudget, compare_bounded
from backend.mathgrade.normalize import normalize
from backend.mathgrade.numbers import Number, parse_number
from backend.mathgrade.numbers import numbers_equal as _numbers_equal
from backend.mathgrade.symbolic import to_sympy

__all__ = ["Number", "explain_equivalence", "is_equivalent", "parse_number", "split_collection", "to_sympy"]

log = logging.getLogger("benchtop.mathgrade")
MAX_LEN = 300
MAX_RAW_LEN = 20 * MAX_LEN  # longer raw answers are not even normalised (that work grows with length)
MAX_ITEMS = 50              # collection elements compared pairwise


def _split_top(s: str, sep: str = ",") -> list[str]:
    parts, depth, cur = [], 0, ""
    i = 0
    while i < len(s):
        c = s[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == sep and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    parts.append(cur.strip())
    return parts


def split_collection(s: str) -> tuple[str, list[str]] | None:
    """``("set", items)``, ``("()", items)`` style tuples/intervals, or None for a single value."""
    for op, cl in (("\\{", "\\}"), ("(", ")"), ("[", "]"), ("(", "]"), ("[", ")")):
        if s.startswith(op) and s.endswith(cl) and len(s) > len(op) + len(cl):
            inner = s[len(op):-len(cl)]
            if _balanced(inner):
                items = _split_top(inner)
                if op == "\\{":
                    return "set", items
                if len(items) > 1:
                    return op + cl, items
    items = _split_top(s)
    if len(items) > 1:
        return "set", items
    return None


def _balanced(s: str) -> bool:
    depth = 0
    for c in s:
        depth += c in "([{"
        depth -= c in ")]}"
        if depth < 0:
            return False
    return depth == 0


def explain_equivalence(pred: str | None, ref: str | None, percent: bool = False) -> tuple[bool, str]:
    """``(equivalent, rule)``: whether ``pred`` and ``ref`` are the same answer and which rule said so.

    Finishes within the grader's budget (:data:`backend.mathgrade.bounded.TIME_BUDGET_S` seconds
    of sympy, one capped worker process): a comparison over budget is "not equivalent", logged.
    """
    try:
        return _explain_cached(pred, ref, percent)
    except OverBudget as exc:  # not cached: a later, quieter call may still finish
        log.warning("grader: %r vs %r %s; counted as not equivalent", str(pred)[:60], str(ref)[:60], exc)
        return False, f"comparison {exc}: counted as not equivalent"


@lru_cache(maxsize=65536)
def _explain_cached(pred: str | None, ref: str | None, percent: bool) -> tuple[bool, str]:
    return _explain(pred, ref, percent, time.monotonic() + TIME_BUDGET_S)


def _explain(pred: str | None, ref: str | None, percent: bool, deadline: float) -> tuple[bool, str]:
    if pred is None or ref is None or not str(pred).strip() or not str(ref).strip():
        return False, "missing answer"
    if len(str(pred)) > MAX_RAW_LEN or len(str(ref)) > MAX_RAW_LEN:
        same = str(pred).strip() == str(ref).strip()
        return same, f"answer longer than {MAX_RAW_LEN} characters: compared as text only"
    p, r = normalize(pred), normalize(ref)
    if p == r:
        return True, "same text after normalisation"
    if len(p) > MAX_LEN or len(r) > MAX_LEN:
        return False, f"answer longer than {MAX_LEN} characters: compared as text only"
    cp, cr = split_collection(p), split_collection(r)
    if cp is not None or cr is not None:
        if cp is None or cr is None or cp[0] != cr[0] or len(cp[1]) != len(cr[1]):
            return False, "different kind or size of collection"
        kind, a_items = cp
        b_items = list(cr[1])
        if len(a_items) > MAX_ITEMS:
            return False, f"collection of more than {MAX_ITEMS} elements: compared as text only"
        if kind != "set":
            ok = all(_explain(x, y, percent, deadline)[0] for x, y in zip(a_items, b_items))
            return ok, f"tuple {kind} compared element by element"
        for x in a_items:
            hit = next((j for j, y in enumerate(b_items) if _explain(x, y, percent, deadline)[0]), None)
            if hit is None:
                return False, "set/list: an element has no match"
            b_items.pop(hit)
        return True, "set/list: same elements in any order"
    np_, nr = parse_number(p), parse_number(r)
    if np_ is not None and nr is not None:
        ok = _numbers_equal(np_, nr, percent)
        return ok, "numbers compared as exact rationals (decimal/percent rules)"
    left = deadline - time.monotonic()
    if left <= 0:
        raise OverBudget(f"over the {TIME_BUDGET_S:g} s time budget")
    return compare_bounded(p, r, left)


def is_equivalent(pred: str | None, ref: str | None, percent: bool = False) -> bool:
    """Whether answer ``pred`` states the same value as ``ref`` (rules in the module docstring)."""
    return explain_equivalence(pred, ref, percent)[0]
