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
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from backend.equations import catalogue, prompts
from backend.equations.library import parse_term
from backend.equations.model import FitSettings, fit_system
from backend.equations.proposers import ProposalRequest
from backend.workspace.atomic import atomic_write_json


TRUTH_METRICS = ("coef_rel_error", "coef_max_rel_error_true_terms", "support_correct", "false_terms", "missed_terms")


def score_of(metrics: dict, sparsity_weight: float) -> float:
    err = metrics.get("extrapolation_rel_l2", math.inf)
    return (err if math.isfinite(err) else 1e6) + sparsity_weight * metrics.get("n_terms", 0)


def _unused(model, custom: list[str]) -> list[str]:  # noqa: ANN001
    """Custom terms whose column has a zero coefficient in every equation."""
    out = []
    for c in custom:
        expr = parse_term(c, model.names)
        j = next((i for i, term in enumerate(model.library.terms) if term.expr == expr), None)
        if j is not None and not np.any(model.coef[:, j]):
            out.append(c)
    return out


def discover(t: np.ndarray, x: np.ndarray, names: list[str], proposer, out: Path,  # noqa: ANN001
             settings: FitSettings | None = None, rounds: int = 4, sparsity_weight: float = 0.002,
             truth: dict | None = None, catalogue_terms: list[str] | None = None,
             progress: Callable[[float, str], None] | None = None,
             check_cancelled: Callable[[], None] | None = None) -> dict:
    """Run the loop; returns the transcript dict (also in ``out/transcript.json``)."""
    out = Path(out)
    settings = settings or FitSettings(library="poly1")
    cat = catalogue_terms or catalogue.default_catalogue(names)
    custom = list(settings.custom_terms)
    transcript: dict = {"proposer": getattr(proposer, "name", type(proposer).__name__), "names": names,
                        "base_library": settings.library, "rounds": [], "best_round": None}
    history: list[dict] = []
    for k in range(rounds):
        if check_cancelled:
            check_cancelled()
        if progress:
            progress(k / rounds, f"round {k + 1}/{rounds}: fitting {len(custom)} custom terms")
        fit = fit_system(t, x, names, replace(settings, custom_terms=custom), truth=truth)
        theta_fit = fit.model.rhs(fit.x[: fit.n_train])
        images = prompts.render_round(out / f"round_{k}", t, fit.x, names, fit.n_train, fit.dx, theta_fit,
                                      fit.prediction)
        ranked = catalogue.rank_terms(fit.x[: fit.n_train], fit.dx, fit.model.library, fit.model.coef, cat)
        entry = {"round": k, "custom_terms": list(custom), "library_terms": fit.model.library.feature_names,
                 "equations": fit.model.text(), "latex": fit.model.latex(), "metrics": fit.metrics,
                 "score": score_of(fit.metrics, sparsity_weight),
                 "images": {name: str(Path(p).relative_to(out)) for name, p in images.items()}, "ranked": ranked[:10],
                 "model": fit.model.to_dict()}
        transcript["rounds"].append(entry)
        history.append({"round": k, "added": entry["custom_terms"],
                        "extrapolation_rel_l2": fit.metrics.get("extrapolation_rel_l2")})
        best = min(transcript["rounds"], key=lambda r: r["score"])
        transcript["best_round"] = best["round"]
        if k == rounds - 1:
            atomic_write_json(out / "transcript.json", transcript)
            break
        req = ProposalRequest(k, names, fit.model.library.feature_names, list(custom), fit.model.text(),
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
        accepted, rejected = [], []
        for term in proposal.add:
            try:
                expr = parse_term(term, names)
            except ValueError as exc:
                rejected.append({"term": term, "why": str(exc)})
                continue
            if str(expr) in {str(parse_term(c, names)) for c in custom} or term in accepted:
                rejected.append({"term": term, "why": "already in the library"})
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
        custom = [c for c in custom if c not in removed] + accepted
    if progress:
        progress(1.0, "done")
    return transcript
