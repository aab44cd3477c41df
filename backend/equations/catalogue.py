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


def default_catalogue(names: list[str], degree: int = 3) -> list[str]:
    """Monomials up to ``degree``, sin/cos/tanh of each state, x*|x| and sin times another state."""
    out = []
    for d in range(1, degree + 1):
        for combo in itertools.combinations_with_replacement(names, d):
            out.append("*".join(combo))
    for n in names:
        out += [f"sin({n})", f"cos({n})", f"tanh({n})", f"{n}*Abs({n})"]
    for a, b in itertools.permutations(names, 2):
        out.append(f"{b}*sin({a})")
    return out


def rank_terms(x: np.ndarray, dx: np.ndarray, library: Library, coef: np.ndarray, catalogue: list[str],
               max_rows: int = 4000) -> list[dict]:
    """Score every catalogue term absent from ``library`` by its residual gain per equation.

    For equation i with active columns A: r = dx_i - A c; a candidate g is orthogonalised to A
    (g_perp = g - A A^+ g); gain = (r . g_perp)^2 / (|g_perp|^2 |r|^2). Sorted, best first."""
    step = max(1, len(x) // max_rows)
    xs, dxs = x[::step], dx[::step]
    theta = library.transform(xs)
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
        g = Library(library.names, degree=0, custom=[text], include_bias=False).transform(xs)[:, 0]
        if np.all(np.isfinite(g)) and np.std(g) > 0:
            cols.append(g)
            terms.append(text)
    if not cols:
        return []
    cand = np.column_stack(cols)
    ranked = []
    for i, name in enumerate(library.names):
        active = coef[i] != 0
        r = dxs[:, i] - theta @ coef[i]
        if active.any():
            a = theta[:, active]
            proj = a @ np.linalg.lstsq(a, cand, rcond=None)[0]
            gp = cand - proj
        else:
            gp = cand
        rr = float(r @ r)
        if rr <= 0:
            continue
        gain = (gp.T @ r) ** 2 / np.maximum((gp ** 2).sum(axis=0) * rr, 1e-300)
        for k in np.argsort(-gain)[:5]:
            ranked.append({"equation": name, "term": terms[k], "gain": float(gain[k]),
                           "gain_of_derivative": float(gain[k] * rr / max(float(dxs[:, i] @ dxs[:, i]), 1e-300)),
                           "residual_rms": float(np.sqrt(rr / len(r)))})
    ranked.sort(key=lambda d: -d["gain"])
    return ranked
