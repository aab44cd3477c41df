"""Plain numbers as exact rationals (rule 3 of :mod:`backend.mathgrade.equivalence`).

Kept apart from the equivalence rules so the bounded sympy worker can import it without
pulling in the worker pool that calls it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Number:
    value: Fraction
    decimals: int | None = None   # digits after the point when written as a decimal
    percent: bool = False


def parse_number(s: str) -> Number | None:
    """A plain number in one of the written forms of rule 3, or None."""
    s = s.replace(" ", "")
    percent = False
    if s.endswith(("\\%", "%")):
        percent, s = True, s[:-2] if s.endswith("\\%") else s[:-1]
    sign = 1
    if s.startswith("-"):
        sign, s = -1, s[1:]
    try:
        if re.fullmatch(r"\d+", s):
            return Number(sign * Fraction(int(s)), None, percent)
        if re.fullmatch(r"\d*\.\d+|\d+\.\d*", s):
            return Number(sign * Fraction(s), len(s.split(".")[1]) or None, percent)
        m = re.fullmatch(r"(\d+)/(\d+)", s) or re.fullmatch(r"\\frac\{(\d+)\}\{(\d+)\}", s)
        if m and int(m.group(2)) != 0:
            return Number(sign * Fraction(int(m.group(1)), int(m.group(2))), None, percent)
        m = re.fullmatch(r"(\d+)\\frac\{(\d+)\}\{(\d+)\}", s)
        if m and int(m.group(3)) != 0:
            return Number(sign * (int(m.group(1)) + Fraction(int(m.group(2)), int(m.group(3)))), None, percent)
    except (ValueError, ZeroDivisionError):
        return None
    return None


def close_decimal(dec: Number, exact_value: float) -> bool:
    """Whether decimal ``dec`` (6+ places) is within one unit of its last place of ``exact_value``."""
    if dec.decimals is None or dec.decimals < 6:
        return False
    try:
        return abs(float(dec.value) - exact_value) <= 10.0 ** (-dec.decimals) * (1 + 1e-9)
    except OverflowError:  # a 300-digit value is no decimal approximation of anything we grade
        return False


def numbers_equal(a: Number, b: Number, percent: bool) -> bool:
    """Rule 3: exact rationals, with the decimal-approximation and percent readings."""
    def readings(n: Number) -> list[Number]:
        if n.percent:
            return [Number(n.value / 100, None if n.decimals is None else n.decimals + 2), Number(n.value, n.decimals)]
        out = [n]
        if percent:
            out += [Number(n.value * 100), Number(n.value / 100)]
        return out

    for x in readings(a):
        for y in readings(b):
            if x.value == y.value:
                return True
            if x.decimals is not None and y.decimals is None and close_decimal(x, _float(y.value)):
                return True
            if y.decimals is not None and x.decimals is None and close_decimal(y, _float(x.value)):
                return True
    return False


def _float(v: Fraction) -> float:
    try:
        return float(v)
    except OverflowError:
        return float("inf")
