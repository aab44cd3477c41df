"""The term catalogue and the residual analysis behind the built-in (no-LLM) proposer.

A candidate term helps when it explains what the current model leaves in the derivative
residual *after* projecting out the terms already in the model; the gain is the fraction of
residual energy it removes. This is orthogonal matching pursuit over a catalogue of physically
common terms, and it is also handed to LLM proposers as text so a text-only model sees numbers.
"""
from __future__ import annotations

import itertools

import numpy as np

from backend.equations.library import Library, parse_term

ANGLE_NAMES = ("theta", "phi", "psi", "angle", "alpha", "beta", "q")


def angle_like(name: str, values: np.ndarray | None) -> bool:
    """Named like an angle, or swinging through both signs within one turn either way."""
    base = name.lower().removesuffix("_t")
    if name.lower().endswith("_t"):
        return False  # a velocity is never an angle
    if any(base == a or base.startswith(a) for a in ANGLE_NAMES):
        return True
    if values is None or not len(values):
        return False
    return bool(values.min() < 0 < values.max() and np.abs(values).max() <= 2 * np.pi)


def default_catalogue(names: list[str], x: np.ndarray | None = None, degree: int = 3) -> list[str]:
    """The grammar the built-in proposer draws from, given the data it will explain.

    Monomials up to ``degree`` (interactions such as x*y included); sin/cos only of angle-like
    states, and those times another state; odd saturations (tanh, x|x|) of states that take both
    signs; Holling/Michaelis-Menten saturations x/(K+x) and x*y/(K+x) of positive states, with K
    the state's median so the term bends inside the data's range rather than being a constant."""
    out = []
    for d in range(1, degree + 1):
        for combo in itertools.combinations_with_replacement(names, d):
            out.append("*".join(combo))
    for i, n in enumerate(names):
        col = None if x is None else np.asarray(x)[:, i]
        if angle_like(n, col):
            out += [f"sin({n})", f"cos({n})"]
            out += [f"{b}*sin({n})" for b in names if b != n]
        if col is None or (col.min() < 0 < col.max()):
            out += [f"tanh({n})", f"{n}*Abs({n})"]
        if col is not None and col.min() > 0:
            k = float(f"{np.median(col):.3g}")
            out.append(f"{n}/({k} + {n})")
            out += [f"{n}*{b}/({k} + {n})" for b in names if b != n]
    return out


def rank_terms(x: np.ndarray, dx: np.ndarray, library: Library, coef: np.ndarray, catalogue: list[str],
               max_rows: int = 4000) -> list[dict]:
    """Score every catalogue term absent from ``library`` by its residual gain per equation, with
    the derivative as the target (see :func:`rank_columns`)."""
    step = max(1, len(x) // max_rows)
    xs, dxs = x[::step], dx[::step]
    terms, cand = catalogue_columns(xs, library, catalogue)
    if not terms:
        return []
    return rank_columns(library.transform(xs), dxs, coef, cand, terms, library.names)


def catalogue_columns(x: np.ndarray, library: Library, catalogue: list[str]) -> tuple[list[str], np.ndarray]:
    """The catalogue terms not already in ``library`` that are finite and vary on ``x``, evaluated."""
    have = {t.expr for t in library.terms}
    cols, terms = [], []
    for text in catalogue:
        try:
            expr = parse_term(text, library.names)
        except ValueError:
            continue
        if expr in have:
            continue
        have.add(expr)
        with np.errstate(all="ignore"):
            g = Library(library.names, degree=0, custom=[text], include_bias=False).transform(x)[:, 0]
        if np.all(np.isfinite(g)) and np.std(g) > 0:
            cols.append(g)
            terms.append(text)
    return terms, (np.column_stack(cols) if cols else np.zeros((len(x), 0)))


def rank_columns(theta: np.ndarray, target: np.ndarray, coef: np.ndarray, cand: np.ndarray, terms: list[str],
                 equations: list[str], nuisance: np.ndarray | None = None) -> list[dict]:
    """Gain of each candidate column per equation, in any formulation's row space.

    For equation i with active columns A (plus nuisance columns): r = b_i − A c; a candidate g is
    orthogonalised to A (g⊥ = g − A A⁺ g); gain = (r·g⊥)² / (|g⊥|² |r|²). Sorted, best first."""
    ranked = []
    extra = np.zeros((len(theta), 0)) if nuisance is None else nuisance
    for i, name in enumerate(equations):
        active = coef[i] != 0
        a = np.column_stack([theta[:, active], extra])
        y = target[:, i]
        if a.shape[1]:
            w = np.linalg.lstsq(a, y, rcond=None)[0]
            r = y - a @ w
            gp = cand - a @ np.linalg.lstsq(a, cand, rcond=None)[0]
        else:
            r, gp = y, cand
        rr = float(r @ r)
        if rr <= 0:
            continue
        gain = (gp.T @ r) ** 2 / np.maximum((gp ** 2).sum(axis=0) * rr, 1e-300)
        for k in np.argsort(-gain)[:5]:
            ranked.append({"equation": name, "term": terms[k], "gain": float(gain[k]),
                           "gain_of_derivative": float(gain[k] * rr / max(float(y @ y), 1e-300)),
                           "residual_rms": float(np.sqrt(rr / len(r)))})
    ranked.sort(key=lambda d: -d["gain"])
    return ranked
