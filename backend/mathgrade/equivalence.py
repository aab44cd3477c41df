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
   fixed sample points (so ``(x+1)^2`` ≡ ``x^2+2x+1``). Inputs are capped in size and large
   exponents are refused so that grading never hangs (no SIGALRM needed: safe in worker threads).
5. Anything else is **not** equivalent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from backend.mathgrade.normalize import matching_brace, normalize

MAX_LEN = 300
_PAIRS = {"(": ")", "[": "]", "\\{": "\\}"}


@dataclass(frozen=True)
class Number:
    value: Fraction
    decimals: int | None = None   # digits after the point when written as a decimal
    percent: bool = False


def parse_number(s: str) -> Number | None:
    """A plain number in one of the written forms of rule 3, or None."""
    s = s.replace(" ", "")
    percent = False
    if s.endswith("\\%") or s.endswith("%"):
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


def _close_decimal(dec: Number, exact_value: float) -> bool:
    return dec.decimals is not None and dec.decimals >= 6 and \
        abs(float(dec.value) - exact_value) <= 10.0 ** (-dec.decimals) * (1 + 1e-9)


def _numbers_equal(a: Number, b: Number, percent: bool) -> bool:
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
            if x.decimals is not None and y.decimals is None and _close_decimal(x, float(y.value)):
                return True
            if y.decimals is not None and x.decimals is None and _close_decimal(y, float(x.value)):
                return True
    return False


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


def _latex_to_python(s: str) -> str | None:
    s = s.replace("\\cdot", "*").replace("\\times", "*").replace("\\div", "/")
    while "\\frac{" in s:
        i = s.find("\\frac{")
        j = matching_brace(s, i + 5)
        if j < 0 or j + 1 >= len(s) or s[j + 1] != "{":
            return None
        k = matching_brace(s, j + 1)
        if k < 0:
            return None
        s = s[:i] + "((" + s[i + 6:j] + ")/(" + s[j + 2:k] + "))" + s[k + 1:]
    s = re.sub(r"\\sqrt\[([^\]]+)\]\{", r"root{\1}{", s)
    s = re.sub(r"root\{([^{}]+)\}\{([^{}]+)\}", r"((\2)**(1/(\1)))", s)
    s = re.sub(r"\\sqrt\s*(\d+|[A-Za-z])", r"sqrt(\1)", s).replace("\\sqrt{", "sqrt{")
    for name, py in (("pi", "pi"), ("infty", "oo"), ("ln", "log"), ("log", "log"), ("sin", "sin"),
                     ("cos", "cos"), ("tan", "tan"), ("exp", "exp")):
        s = re.sub(r"\\" + name + r"(?![A-Za-z])", " " + py + " ", s)
    if "\\" in s:
        return None
    s = s.replace("{", "(").replace("}", ")").replace("^", "**")
    if not re.fullmatch(r"[0-9A-Za-z+\-*/(). ]*", s) or re.search(r"\*\*\s*\(*\s*\d{4,}", s) or re.search(r"\d{60,}", s):
        return None
    return s


@lru_cache(maxsize=4096)
def to_sympy(s: str):
    """Parse a normalised answer into a sympy expression (unevaluated), or None."""
    py = _latex_to_python(s)
    if py is None or not py.strip():
        return None
    from sympy import Symbol, oo, pi, sqrt, log, sin, cos, tan, exp
    from sympy.parsing.sympy_parser import (implicit_multiplication_application, parse_expr,
                                            standard_transformations)

    names = {"pi": pi, "oo": oo, "sqrt": sqrt, "log": log, "sin": sin, "cos": cos, "tan": tan, "exp": exp}
    local = dict(names)
    for tok in set(re.findall(r"[A-Za-z]+", py)):
        if tok not in names:
            if len(tok) > 1:
                return None  # words are not expressions
            local[tok] = Symbol(tok)
    try:
        return parse_expr(py, local_dict=local, global_dict={"__builtins__": {}, **{k: v for k, v in _sympy_core().items()}},
                          transformations=standard_transformations + (implicit_multiplication_application,),
                          evaluate=True)
    except Exception:  # noqa: BLE001 - anything unparseable is simply not an expression
        return None


@lru_cache(maxsize=1)
def _sympy_core() -> dict:
    import sympy

    return {"Integer": sympy.Integer, "Float": sympy.Float, "Rational": sympy.Rational, "Symbol": sympy.Symbol}


def _expressions_equal(a, b, da: Number | None, db: Number | None) -> bool:
    fa = sorted(str(x) for x in a.free_symbols)
    fb = sorted(str(x) for x in b.free_symbols)
    if fa != fb:
        return False
    if not fa:
        try:
            va, vb = complex(a.evalf(30)), complex(b.evalf(30))
        except (TypeError, ValueError):
            return False
        if da is not None and da.decimals is not None and db is None:
            return abs(va.imag) < 1e-12 and _close_decimal(da, vb.real) if abs(vb.imag) < 1e-12 else False
        if db is not None and db.decimals is not None and da is None:
            return abs(va.imag) < 1e-12 and _close_decimal(db, va.real) if abs(va.imag) < 1e-12 else False
        return abs(va - vb) <= 1e-12 * max(1.0, abs(va))
    syms_a = sorted(a.free_symbols, key=str)
    syms_b = sorted(b.free_symbols, key=str)
    agree = 0
    for t in (0.31, 0.73, 1.17, 1.61, 2.29):
        sa = {s: t + 0.137 * k for k, s in enumerate(syms_a)}
        sb = {s: t + 0.137 * k for k, s in enumerate(syms_b)}
        try:
            va, vb = complex(a.evalf(30, subs=sa)), complex(b.evalf(30, subs=sb))
        except (TypeError, ValueError):
            continue
        if abs(va - vb) > 1e-9 * max(1.0, abs(va)):
            return False
        agree += 1
    return agree >= 3


def explain_equivalence(pred: str | None, ref: str | None, percent: bool = False) -> tuple[bool, str]:
    """``(equivalent, rule)``: whether ``pred`` and ``ref`` are the same answer and which rule said so."""
    if pred is None or ref is None or not str(pred).strip() or not str(ref).strip():
        return False, "missing answer"
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
        if kind != "set":
            ok = all(is_equivalent(x, y, percent) for x, y in zip(a_items, b_items))
            return ok, f"tuple {kind} compared element by element"
        for x in a_items:
            hit = next((j for j, y in enumerate(b_items) if is_equivalent(x, y, percent)), None)
            if hit is None:
                return False, "set/list: an element has no match"
            b_items.pop(hit)
        return True, "set/list: same elements in any order"
    np_, nr = parse_number(p), parse_number(r)
    if np_ is not None and nr is not None:
        ok = _numbers_equal(np_, nr, percent)
        return ok, "numbers compared as exact rationals (decimal/percent rules)"
    ep = to_sympy(re.sub(r"\\?%$", "", p))
    er = to_sympy(re.sub(r"\\?%$", "", r))
    if ep is not None and er is not None:
        return _expressions_equal(ep, er, np_, nr), "expressions compared with sympy"
    return False, "different text, not parseable as the same value"


@lru_cache(maxsize=65536)
def is_equivalent(pred: str | None, ref: str | None, percent: bool = False) -> bool:
    """Whether answer ``pred`` states the same value as ``ref`` (rules in the module docstring)."""
    return explain_equivalence(pred, ref, percent)[0]
