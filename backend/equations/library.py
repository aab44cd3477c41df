"""Candidate-term libraries: polynomial, trigonometric and user terms written in sympy syntax.

Every term carries its sympy expression, so a fitted coefficient row turns straight into a
sympy equation (and LaTeX). Polynomial terms are evaluated as column products (fast, and in
PySINDy's order so results can be compared); trigonometric and user terms are lambdified.

User and model-proposed terms are strings; they are parsed only after a whitelist check
(state names, numbers, + - * / ^ ( ) and a few functions), because sympy parsing evaluates
Python and proposals may come from a remote model.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
import sympy as sp

FUNCTIONS = {"sin": sp.sin, "cos": sp.cos, "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "tanh": sp.tanh,
             "Abs": sp.Abs, "abs": sp.Abs}
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+|\*\*|[-+*/^().]|\s+")


@dataclass(frozen=True)
class Term:
    """One library column: its display name and sympy expression."""

    name: str
    expr: sp.Expr


def symbols_for(names: list[str]) -> list[sp.Symbol]:
    return [sp.Symbol(n, real=True) for n in names]


def parse_term(text: str, names: list[str]) -> sp.Expr:
    """Parse a term like ``x*y`` or ``sin(theta)`` safely; raise ValueError naming the problem."""
    text = text.strip()
    if not text or len(text) > 200:
        raise ValueError(f"term {text!r}: empty or too long")
    pos, allowed = 0, set(names) | set(FUNCTIONS)
    for m in _TOKEN.finditer(text):
        if m.start() != pos:
            break
        tok = m.group()
        if re.match(r"[A-Za-z_]", tok) and tok not in allowed:
            raise ValueError(f"term {text!r}: unknown name {tok!r} (states: {', '.join(names)}; "
                             f"functions: {', '.join(sorted(FUNCTIONS))})")
        pos = m.end()
    if pos != len(text):
        raise ValueError(f"term {text!r}: unexpected character {text[pos]!r}")
    local = {n: s for n, s in zip(names, symbols_for(names))} | FUNCTIONS
    from sympy.parsing.sympy_parser import (
        convert_xor,
        parse_expr,
        standard_transformations,
    )

    try:
        expr = parse_expr(text, local_dict=local, global_dict={"Integer": sp.Integer, "Float": sp.Float,
                                                                "Symbol": sp.Symbol, "Rational": sp.Rational},
                          transformations=standard_transformations + (convert_xor,))
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad term
        raise ValueError(f"term {text!r}: cannot parse ({exc})") from None
    expr = sp.sympify(expr)
    if not expr.free_symbols:
        raise ValueError(f"term {text!r}: a constant; the library's '1' column covers constants")
    return expr


def _monomial_name(powers: tuple[int, ...], names: list[str]) -> str:
    parts = [n if p == 1 else f"{n}^{p}" for n, p in zip(names, powers) if p]
    return " ".join(parts) or "1"


class Library:
    """A list of candidate terms over named states, evaluated to the matrix Theta(x)."""

    def __init__(self, names: list[str], degree: int = 2, trig: int = 0, custom: list[str] | None = None,
                 include_bias: bool = True, trig_states: list[str] | None = None) -> None:
        if degree < 0 or degree > 6:
            raise ValueError(f"polynomial degree must be 0..6, got {degree}")
        self.names = list(names)
        self.degree, self.trig, self.include_bias = degree, trig, include_bias
        # sin/cos only of these states (second order: of positions, which may be angles, not velocities)
        self.trig_states = list(trig_states) if trig_states is not None else None
        self.syms = symbols_for(self.names)
        n = len(names)
        self._mono: list[tuple[int, ...]] = []  # variable indices per monomial (PySINDy's order)
        terms: list[Term] = []
        for d in range(0 if include_bias else 1, degree + 1):
            for combo in itertools.combinations_with_replacement(range(n), d):
                powers = tuple(combo.count(i) for i in range(n))
                self._mono.append(combo)
                terms.append(Term(_monomial_name(powers, names), sp.Mul(*[self.syms[i] for i in combo])))
        self._extra: list[Term] = []
        for k in range(1, trig + 1):
            for i, s in enumerate(self.syms):
                if self.trig_states is not None and names[i] not in self.trig_states:
                    continue
                kk = "" if k == 1 else f"{k} "
                self._extra.append(Term(f"sin({kk}{names[i]})", sp.sin(k * s)))
                self._extra.append(Term(f"cos({kk}{names[i]})", sp.cos(k * s)))
        self.custom = []
        seen = {t.expr for t in terms + self._extra}
        for c in custom or []:
            expr = parse_term(c, self.names)
            if expr in seen:
                continue
            seen.add(expr)
            self.custom.append(c)
            self._extra.append(Term(str(expr).replace("**", "^"), expr))
        self.terms = terms + self._extra
        self._fn = sp.lambdify(self.syms, [t.expr for t in self._extra], modules="numpy") if self._extra else None

    @classmethod
    def from_spec(cls, spec: str, names: list[str], custom: list[str] | None = None,
                  trig_states: list[str] | None = None) -> Library:
        """``poly3``, ``poly2+trig1``, ``trig2``…; ``custom`` adds sympy-syntax terms."""
        degree, trig = 0, 0
        for part in (p.strip().lower() for p in spec.split("+") if p.strip()):
            m = re.fullmatch(r"(poly|trig|fourier)(\d)", part)
            if not m:
                raise ValueError(f"library {spec!r}: unknown part {part!r} "
                                 "(use polyN, trigN, e.g. poly3 or poly1+trig1)")
            if m.group(1) == "poly":
                degree = int(m.group(2))
            else:
                trig = int(m.group(2))
        return cls(names, degree=degree, trig=trig, custom=custom, trig_states=trig_states)

    def spec(self) -> dict:
        return {"names": self.names, "degree": self.degree, "trig": self.trig, "custom": list(self.custom),
                "include_bias": self.include_bias, "trig_states": self.trig_states}

    @classmethod
    def from_dict(cls, d: dict) -> Library:
        return cls(d["names"], d["degree"], d["trig"], d.get("custom"), d.get("include_bias", True),
                   d.get("trig_states"))

    @property
    def feature_names(self) -> list[str]:
        return [t.name for t in self.terms]

    def __len__(self) -> int:
        return len(self.terms)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Theta(x): (n_samples, n_terms), float64."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[1] != len(self.names):
            raise ValueError(f"library over {len(self.names)} states got data with {x.shape[1]} columns")
        out = np.empty((x.shape[0], len(self.terms)), dtype=np.float64)
        for j, combo in enumerate(self._mono):
            if not combo:
                out[:, j] = 1.0
            elif len(combo) == 1:
                out[:, j] = x[:, combo[0]]
            else:
                col = x[:, combo[0]] * x[:, combo[1]]
                for i in combo[2:]:
                    col = col * x[:, i]
                out[:, j] = col
        if self._fn is not None:
            vals = self._fn(*x.T)
            for j, v in enumerate(vals, start=len(self._mono)):
                out[:, j] = v
        return out
