"""Rule 4 of the grader: expressions compared with sympy, behind a guard on the text.

``compare(p, r)`` is what the bounded worker (:mod:`backend.mathgrade.bounded`) runs. Before
sympy sees an answer, :func:`refusal` rejects the shapes that make sympy or Python's integers
explode on a few characters: exponent towers (``9^9^9^9``), large exponents (``2^{-99999999}``),
scientific notation with a huge exponent (``1e999999``), deep nesting (``exp(exp(exp(...)))``),
long digit runs. A refused answer is "not equal" with the reason. Values that are not finite
(``1e308*1e308``, ``exp(exp(100))``) are never equal to anything. The worker's deadline and
memory cap are the backstop for whatever the guard does not foresee.
"""
from __future__ import annotations

import cmath
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from backend.mathgrade.normalize import matching_brace
from backend.mathgrade.numbers import Number, close_decimal, parse_number

if TYPE_CHECKING:
    import sympy

MAX_EXPONENT_DIGITS = 3        # exponent literals up to 999
MAX_SCI_EXPONENT_DIGITS = 3    # 1e308 is read; 1e1000 is refused
MAX_DIGITS = 60                # longest digit run sympy is given
MAX_DEPTH = 12                 # bracket nesting
MAX_CALL_DEPTH = 3             # nested function calls: sin(exp(sqrt(x))) is the deepest read
_FUNCS = ("sqrt", "log", "sin", "cos", "tan", "exp")


def latex_to_python(s: str) -> str | None:
    """The LaTeX subset of rule 4 as a Python expression string, or None when outside it."""
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
    if not re.fullmatch(r"[0-9A-Za-z+\-*/(). ]*", s):
        return None
    return s


def _operand_end(py: str, i: int) -> int:
    """End index of the operand starting at ``i`` (after a ``**``): a bracket group, a signed
    number or name, or a function call."""
    while i < len(py) and py[i] in " +-":
        i += 1
    if i < len(py) and py[i] == "(":
        depth = 0
        for j in range(i, len(py)):
            depth += {"(": 1, ")": -1}.get(py[j], 0)
            if depth == 0:
                return j + 1
        return len(py)
    m = re.match(r"[A-Za-z0-9.]*", py[i:])
    j = i + (m.end() if m else 0)
    if j < len(py) and py[j] == "(":  # a call such as exp(...)
        return _operand_end(py, j)
    return j


def refusal(py: str) -> str | None:
    """Why the Python form ``py`` of an answer is too costly to evaluate, or None when it is fine."""
    depth = deepest = 0
    for c in py:
        depth += {"(": 1, ")": -1}.get(c, 0)
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} brackets"
    if re.search(r"\d{" + str(MAX_DIGITS) + ",}", py):
        return f"a number with {MAX_DIGITS}+ digits"
    if re.search(r"\d[eE][+-]?\d{" + str(MAX_SCI_EXPONENT_DIGITS + 1) + ",}", py):
        return "scientific notation with a huge exponent"
    if re.search(r"\*\*\s*\(*\s*[-+]?\s*\d{" + str(MAX_EXPONENT_DIGITS + 1) + ",}", py):
        return "an exponent of 1000 or more"
    for m in re.finditer(r"\*\*", py):
        end = _operand_end(py, m.end())
        operand, rest = py[m.end():end], py[end:].lstrip()
        if "**" in operand or "exp" in operand or rest.startswith("**"):
            return "an exponent tower"
    calls = re.sub(r"\b(?:" + "|".join(_FUNCS) + r")\s*\(", "\0", py)  # a call opens with \0
    stack: list[bool] = []
    nest = 0
    for c in calls:
        if c in "\0(":
            stack.append(c == "\0")
            nest = max(nest, sum(stack))
        elif c == ")" and stack:
            stack.pop()
    if nest > MAX_CALL_DEPTH:
        return f"functions nested more than {MAX_CALL_DEPTH} deep"
    return None


@lru_cache(maxsize=4096)
def to_sympy(s: str) -> sympy.Expr | None:
    """Parse a normalised answer into a sympy expression, or None (unparseable or refused)."""
    py = latex_to_python(s)
    if py is None or not py.strip() or refusal(py) is not None:
        return None
    from sympy import Expr, Symbol, cos, exp, log, oo, pi, sin, sqrt, tan
    from sympy.parsing.sympy_parser import (
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    names = {"pi": pi, "oo": oo, "sqrt": sqrt, "log": log, "sin": sin, "cos": cos, "tan": tan, "exp": exp}
    local = dict(names)
    for tok in set(re.findall(r"[A-Za-z]+", py)):
        if tok not in names:
            if len(tok) > 1:
                return None  # words are not expressions
            local[tok] = Symbol(tok)
    try:
        expr = parse_expr(py, local_dict=local, global_dict={"__builtins__": {}, **_sympy_core()},
                          transformations=standard_transformations + (implicit_multiplication_application,),
                          evaluate=True)
    except Exception:  # noqa: BLE001 - anything unparseable is simply not an expression
        return None
    return expr if isinstance(expr, Expr) else None  # "((1))(2)" parses to a tuple: not a value


@lru_cache(maxsize=1)
def _sympy_core() -> dict:
    import sympy

    return {"Integer": sympy.Integer, "Float": sympy.Float, "Rational": sympy.Rational, "Symbol": sympy.Symbol}


def _value(expr, subs=None) -> complex | None:
    try:
        v = complex(expr.evalf(30, subs=subs))
    except Exception:  # noqa: BLE001 - overflow, zoo, nan: no comparable value
        return None
    return v if cmath.isfinite(v) else None


def expressions_equal(a: sympy.Expr, b: sympy.Expr, da: Number | None, db: Number | None) -> bool:
    """Same constant (1e-12 relative) or same function of the same variables at five points."""
    fa = sorted(str(x) for x in a.free_symbols)
    fb = sorted(str(x) for x in b.free_symbols)
    if fa != fb:
        return False
    if not fa:
        va, vb = _value(a), _value(b)
        if va is None or vb is None:
            return False
        if abs(va - vb) <= 1e-12 * max(1.0, abs(va)):
            return True
        real = abs(va.imag) < 1e-12 and abs(vb.imag) < 1e-12
        if da is not None and da.decimals is not None and db is None:
            return real and close_decimal(da, vb.real)
        if db is not None and db.decimals is not None and da is None:
            return real and close_decimal(db, va.real)
        return False
    syms_a = sorted(a.free_symbols, key=str)
    syms_b = sorted(b.free_symbols, key=str)
    agree = 0
    for t in (0.31, 0.73, 1.17, 1.61, 2.29):
        va = _value(a, {s: t + 0.137 * k for k, s in enumerate(syms_a)})
        vb = _value(b, {s: t + 0.137 * k for k, s in enumerate(syms_b)})
        if va is None or vb is None:
            continue
        if abs(va - vb) > 1e-9 * max(1.0, abs(va)):
            return False
        agree += 1
    return agree >= 3


def compare(p: str, r: str) -> tuple[bool, str]:
    """Rule 4 on two normalised answers: ``(equal, reason)``."""
    ps, rs = re.sub(r"\\?%$", "", p), re.sub(r"\\?%$", "", r)
    for s in (ps, rs):
        py = latex_to_python(s)
        why = refusal(py) if py else None
        if why:
            return False, f"refused to evaluate {s[:40]!r}: {why}"
    ep, er = to_sympy(ps), to_sympy(rs)
    if ep is None or er is None:
        return False, "different text, not parseable as the same value"
    return expressions_equal(ep, er, parse_number(p), parse_number(r)), "expressions compared with sympy"
