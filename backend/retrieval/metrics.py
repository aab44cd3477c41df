"""Ranking metrics against BEIR qrels: recall@k, MRR, invalid rate, latency."""
from __future__ import annotations

import statistics


def recall_at(ranked: list[str | None], relevant: set[str], k: int) -> float:
    """Share of the relevant documents found in the first ``k`` results."""
    if not relevant:
        return 0.0
    return len(relevant & {d for d in ranked[:k] if d is not None}) / len(relevant)


def reciprocal_rank(ranked: list[str | None], relevant: set[str]) -> float:
    for rank, d in enumerate(ranked, 1):
        if d is not None and d in relevant:
            return 1.0 / rank
    return 0.0


def summarize(runs: list[dict]) -> dict:
    """Mean metrics over queries; each run is ``{"ranked", "relevant", "seconds", "invalid", "returned"}``."""
    n = len(runs)
    if n == 0:
        return {"queries": 0}
    lat = [r["seconds"] for r in runs]
    returned = sum(r["returned"] for r in runs)
    return {
        "queries": n,
        "recall@1": sum(recall_at(r["ranked"], r["relevant"], 1) for r in runs) / n,
        "recall@10": sum(recall_at(r["ranked"], r["relevant"], 10) for r in runs) / n,
        "mrr": sum(reciprocal_rank(r["ranked"], r["relevant"]) for r in runs) / n,
        # share of all returned sequences that name no document, and of top-1 outputs
        "invalid_rate": (sum(r["invalid"] for r in runs) / returned) if returned else 0.0,
        "invalid_rate@1": sum(1 for r in runs if r["ranked"] and r["ranked"][0] is None) / n,
        "latency_ms": 1000 * statistics.fmean(lat),
        "latency_ms_p50": 1000 * statistics.median(lat),
    }
