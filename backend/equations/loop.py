"""The propose -> fit -> score -> show -> repeat loop, with the whole transcript kept.

Round k fits the current library, scores the model (extrapolation error past the training
window, and sparsity), renders the plots, and asks the proposer for terms to add or remove.
Proposed terms are validated (whitelisted sympy over the state names) before use; rejected ones
are recorded with the reason. The transcript (request text, images as paths relative to ``out``, raw
reply, parsed proposal, fit and scores of every round) is written to ``transcript.json`` after every round, so an
interrupted loop still leaves a readable record. The best round is the one with the lowest
``score = extrapolation_rel_l2 + sparsity_weight * n_terms``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from backend.equations import catalogue, conditioning, prompts, selection
from backend.equations.library import Library, parse_term
from backend.equations.model import FitSettings, fit_system
from backend.equations.proposers import ProposalRequest, Proposer
from backend.workspace.atomic import atomic_write_json

TRUTH_METRICS = ("coef_rel_error", "coef_max_rel_error_true_terms", "support_correct", "false_terms", "missed_terms")


def score_of(metrics: dict, sparsity_weight: float) -> float:
    """Extrapolation error past the training window, or (with no held-out stretch) the
    cross-validated error of the fit; plus a small price per term."""
    if "extrapolation_rel_l2" in metrics:
        err = metrics["extrapolation_rel_l2"]
    else:
        err = metrics.get("heldout_rel_error", math.inf)
    return (err if math.isfinite(err) else 1e6) + sparsity_weight * metrics.get("n_terms", 0)


def _unused(model, custom: list[str]) -> list[str]:
    """Custom terms whose column has a zero coefficient in every equation."""
    out = []
    for c in custom:
        expr = parse_term(c, model.names)
        j = next((i for i, term in enumerate(model.library.terms) if term.expr == expr), None)
        if j is not None and not np.any(model.coef[:, j]):
            out.append(c)
    return out


def best_round(rounds: list[dict]) -> int:
    """Lowest score; where rounds are scored by held-out error (no extrapolation horizon), the
    round with fewest terms among those within 5% of the lowest, so noise does not buy terms."""
    best = min(rounds, key=lambda r: r["score"])
    if "extrapolation_rel_l2" in best["metrics"]:
        return best["round"]
    close = [r for r in rounds if r["score"] <= best["score"] * 1.05]
    return min(close, key=lambda r: (r["metrics"].get("n_terms", 0), r["score"]))["round"]


def _rank(fit, cat: list[str]) -> list[dict]:
    """Catalogue terms by the share of the fit's residual they explain, in the fit's own formulation."""
    terms, _ = catalogue.catalogue_columns(fit.x[: fit.n_train], fit.model.library, cat)
    if not terms:
        return []
    cand = fit.candidate_system(terms)
    targets = [fit.model.names[i] for i in fit.train.targets]
    coef = fit.model.coef[fit.train.targets]
    if fit.settings.select and len(fit.system.b) <= selection.LOO_MAX_ROWS and len(fit.model.library) <= 12:
        return _rank_by_selection(fit, cand.a, terms, targets)
    return catalogue.rank_columns(fit.system.a, fit.system.b, coef, cand.a, terms, targets, fit.system.nuisance)


def _rank_by_selection(fit, cand: np.ndarray, terms: list[str], targets: list[str]) -> list[dict]:
    """For short records: how much each candidate lowers the held-out error when selection may
    also re-choose the other terms. Greedy residual gain misses interactions such as x*y when
    the current (wrong) terms already soak up part of their effect; re-selection does not."""
    s = fit.settings
    names = fit.model.library.feature_names
    base = selection.select_supports(fit.system.a, fit.system.b, names, targets, s.criterion, s.max_terms,
                                     s.optimizer, s.alpha, fit.system.nuisance)
    ranked: list[dict[str, Any]] = []
    for j, term in enumerate(terms):
        a = np.column_stack([fit.system.a, cand[:, j]])
        trial = selection.select_supports(a, fit.system.b, names + [term], targets, s.criterion, s.max_terms,
                                          s.optimizer, s.alpha, fit.system.nuisance)
        for eq_base, eq_new in zip(base.equations, trial.equations):
            if len(names) not in eq_new.chosen.support:  # the candidate was not chosen: no gain
                continue
            before, after = eq_base.chosen.cv_mse, eq_new.chosen.cv_mse
            gain = (before - after) / max(before, 1e-300)
            if gain > 0:
                ranked.append({"equation": eq_new.name, "term": term, "gain": float(gain),
                               "gain_of_derivative": float(gain), "residual_rms": float(np.sqrt(before))})
    ranked.sort(key=lambda d: -d["gain"])
    return ranked


def _breaks_conditioning(fit, custom: list[str], term: str) -> str:
    """Why adding ``term`` would make the library ill-conditioned on the training data ('' if not)."""
    lib = fit.model.library
    if parse_term(term, lib.names) in {t.expr for t in lib.terms}:
        return "already in the library"
    trial = Library(lib.names, lib.degree, lib.trig, custom + [term], lib.include_bias, lib.trig_states)
    theta = trial.transform(fit.x[: fit.n_train])
    cond = conditioning.check_columns(theta, trial.feature_names)
    new = trial.feature_names[-1]
    if new in cond.dropped:
        return f"refused: {cond.dropped[new]}"
    return ""


def discover(t: np.ndarray, x: np.ndarray, names: list[str], proposer: Proposer, out: Path,
             settings: FitSettings | None = None, rounds: int = 4, sparsity_weight: float = 0.002,
             truth: dict | None = None, catalogue_terms: list[str] | None = None,
             progress: Callable[[float, str], None] | None = None,
             check_cancelled: Callable[[], None] | None = None) -> dict:
    """Run the loop; returns the transcript dict (also in ``out/transcript.json``)."""
    out = Path(out)
    settings = settings or FitSettings(library="poly1")
    cat = catalogue_terms
    custom = list(settings.custom_terms)
    transcript: dict = {"proposer": getattr(proposer, "name", type(proposer).__name__), "names": names,
                        "base_library": settings.library, "rounds": [], "best_round": None}
    history: list[dict] = []
    tried: set[str] = set()
    for k in range(rounds):
        if check_cancelled:
            check_cancelled()
        if progress:
            progress(k / rounds, f"round {k + 1}/{rounds}: fitting {len(custom)} custom terms")
        fit = fit_system(t, x, names, replace(settings, custom_terms=tuple(custom)), truth=truth)
        if cat is None:  # the grammar is drawn from the states as fitted (with velocities for order 2)
            cat = catalogue.default_catalogue(fit.model.names, fit.x[: fit.n_train])
        theta_fit = fit.model.rhs(fit.x[: fit.n_train])
        images = prompts.render_round(out / f"round_{k}", t, fit.x, fit.model.names, fit.n_train, fit.dx, theta_fit,
                                      fit.prediction)
        ranked = [r for r in _rank(fit, cat) if r["term"] not in tried]  # never re-propose a dropped term
        entry = {"round": k, "custom_terms": list(custom), "library_terms": fit.model.library.feature_names,
                 "equations": fit.model.text(), "latex": fit.model.latex(), "metrics": fit.metrics,
                 "score": score_of(fit.metrics, sparsity_weight),
                 "images": {name: str(Path(p).relative_to(out)) for name, p in images.items()}, "ranked": ranked[:10],
                 "model": fit.model.to_dict()}
        transcript["rounds"].append(entry)
        history.append({"round": k, "added": entry["custom_terms"],
                        "extrapolation_rel_l2": fit.metrics.get("extrapolation_rel_l2")})
        transcript["best_round"] = best_round(transcript["rounds"])
        if k == rounds - 1:
            atomic_write_json(out / "transcript.json", transcript)
            break
        req = ProposalRequest(k, fit.model.names, fit.model.library.feature_names, list(custom), fit.model.text(),
                              {m: v for m, v in fit.metrics.items()  # never leak the ground truth
                               if isinstance(v, (int, float)) and m not in TRUTH_METRICS},
                              ranked, images, history, _unused(fit.model, custom))
        entry["request_text"] = req.text()
        if progress:
            progress((k + 0.5) / rounds, f"round {k + 1}/{rounds}: asking the {transcript['proposer']} proposer")
        try:
            proposal = proposer.propose(req)
        except Exception as exc:  # noqa: BLE001 - a failing endpoint ends the loop, recorded
            entry["proposal_error"] = str(exc)
            atomic_write_json(out / "transcript.json", transcript)
            transcript["stopped"] = f"proposer failed: {exc}"
            break
        accepted: list[str] = []
        rejected: list[dict] = []
        for term in proposal.add:
            try:
                expr = parse_term(term, fit.model.names)
            except ValueError as exc:
                rejected.append({"term": term, "why": str(exc)})
                continue
            if str(expr) in {str(parse_term(c, fit.model.names)) for c in custom} or term in accepted:
                rejected.append({"term": term, "why": "already in the library"})
                continue
            why = _breaks_conditioning(fit, custom + accepted, term)
            if why:
                rejected.append({"term": term, "why": why})
                continue
            accepted.append(term)
        removed = [c for c in custom if c in proposal.remove]
        entry["proposal"] = {"add": proposal.add, "remove": proposal.remove, "reason": proposal.reason,
                             "raw": proposal.raw, "accepted": accepted, "rejected": rejected, "removed": removed}
        atomic_write_json(out / "transcript.json", transcript)
        if not accepted and not removed:
            transcript["stopped"] = "the proposer had nothing new to add"
            atomic_write_json(out / "transcript.json", transcript)
            break
        tried.update(removed)
        custom = [c for c in custom if c not in removed] + accepted
    if progress:
        progress(1.0, "done")
    return transcript
