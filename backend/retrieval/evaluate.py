"""Evaluation: constrained and unconstrained generative retrieval, BM25, optional calibration,
and answer accuracy with no retrieval / retrieved documents / the gold document (oracle).

Every figure is measured here on the given queries; BM25 runs at bm25s' defaults. The per-query
rankings of each system are returned too (the panel puts them side by side).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from backend.retrieval import model as M
from backend.retrieval.beir import Query, check_qrels, load_qrels, load_queries
from backend.retrieval.bm25 import BM25
from backend.retrieval.metrics import summarize
from backend.retrieval.params import EvalParams
from backend.retrieval.reader import closed_book, correct, read
from backend.retrieval.search import beam_search

if TYPE_CHECKING:
    from backend.jobs import JobContext
    from backend.retrieval.index import Index

SYSTEMS = ("constrained", "unconstrained", "bm25", "calibrated")


def judged(queries: list[Query], qrels: dict, limit: int = 0) -> list[Query]:
    out = [q for q in queries if any(s > 0 for s in qrels.get(q.id, {}).values())]
    return out[:limit] if limit else out


def run_generative(index: Index, queries: list[Query], qrels: dict, beams: int, constrained: bool,
                   ctx: JobContext | None = None, label: str = "",
                   frac: tuple[float, float] = (0.0, 1.0)) -> list[dict]:
    """One row per query: ranked doc ids (None = invalid output), scores, seconds."""
    rows = []
    for n, q in enumerate(queries):
        prompt = M.prompt_ids(index.tok, q.text, index.max_query_tokens)
        t0 = time.perf_counter()
        hits = beam_search(index.model, index.tok, prompt, index.trie, beams, constrained=constrained).hits
        rows.append({"query": q.id, "ranked": [h.doc_id for h in hits], "scores": [h.score for h in hits],
                     "texts": [h.text for h in hits], "seconds": time.perf_counter() - t0,
                     "relevant": {d for d, s in qrels.get(q.id, {}).items() if s > 0},
                     "invalid": sum(h.doc_id is None for h in hits), "returned": len(hits)})
        if ctx is not None and n % 5 == 0:
            ctx.progress(frac[0] + (frac[1] - frac[0]) * n / len(queries), f"{label}: query {n}/{len(queries)}")
            ctx.check_cancelled()
    return rows


def run_bm25(bm25: BM25, queries: list[Query], qrels: dict, k: int) -> list[dict]:
    rows = []
    for q in queries:
        t0 = time.perf_counter()
        res = bm25.search(q.text, k)
        rows.append({"query": q.id, "ranked": [d for d, _ in res], "scores": [s for _, s in res], "texts": [],
                     "seconds": time.perf_counter() - t0, "invalid": 0, "returned": len(res),
                     "relevant": {d for d, s in qrels.get(q.id, {}).items() if s > 0}})
    return rows


def answer_accuracy(index: Index, queries: list[Query], rows: dict[str, list[dict]], k: int) -> dict:
    """Reader accuracy per context source, on queries that carry answers."""
    docs = {d.id: d for d in index.docs}
    asked = [(i, q) for i, q in enumerate(queries) if q.answers]
    if not asked:
        return {"queries": 0}
    out: dict = {"queries": len(asked), "k": k}
    out["no_retrieval"] = sum(correct(closed_book(index.model, index.tok, q.text), q.answers)
                              for _, q in asked) / len(asked)
    for name, runs in rows.items():
        out[name] = sum(correct(read(q.text, [docs[d] for d in runs[i]["ranked"][:k] if d is not None]), q.answers)
                        for i, q in asked) / len(asked)
    oracle = rows["constrained"]
    out["oracle"] = sum(correct(read(q.text, [docs[d] for d in sorted(oracle[i]["relevant"])]), q.answers)
                        for i, q in asked) / len(asked)
    return out


def training_set(queries_path: Path, qrels_path: Path, train_queries: str | None, train_qrels: str | None):
    """Calibration queries: given files, else ``qrels/train.tsv`` beside the test qrels (BEIR layout)."""
    tq = Path(train_qrels) if train_qrels else qrels_path.parent / "train.tsv"
    if not tq.is_file() or tq.resolve() == qrels_path.resolve():
        raise ValueError(f"calibration needs training queries: no {tq} (give --train-qrels, and "
                         f"--train-queries if they are not in {queries_path.name})")
    return load_queries(Path(train_queries) if train_queries else queries_path), load_qrels(tq), tq


def evaluate(index: Index, queries_path: str | Path, qrels_path: str | Path, p: EvalParams,
             ctx: JobContext | None = None,
             train_queries: str | None = None, train_qrels: str | None = None) -> dict:
    """All systems on the judged queries; see the module docstring."""
    from backend.retrieval.dpo import dpo_train, feedback_pairs

    queries_path, qrels_path = Path(queries_path), Path(qrels_path)
    queries, qrels = load_queries(queries_path), load_qrels(qrels_path)
    check_qrels(qrels, index.docs, queries, qrels_path)
    qs = judged(queries, qrels, p.max_queries)
    if p.calibrate:   # fail on missing training data before spending time on evaluation
        tqueries, tqrels, tq_path = training_set(queries_path, qrels_path, train_queries, train_qrels)
        check_qrels(tqrels, index.docs, tqueries, tq_path)
    span = (0.0, 0.3) if not p.calibrate else (0.0, 0.2)
    rows = {"constrained": run_generative(index, qs, qrels, p.beams, True, ctx, "constrained", span)}
    span2 = (span[1], 2 * span[1])
    rows["unconstrained"] = run_generative(index, qs, qrels, p.beams, False, ctx, "unconstrained", span2)
    rows["bm25"] = run_bm25(BM25(index.docs), qs, qrels, p.beams)
    result: dict = {}
    if p.calibrate:
        fq = judged(tqueries, tqrels, p.feedback_queries)
        pairs, stats = feedback_pairs(index, fq, tqrels, p.beams, p.feedback, ctx)
        curve = dpo_train(index.model, index.tok, pairs, p.dpo_beta, p.dpo_steps, p.dpo_lr, p.dpo_batch, p.seed, ctx)
        rows["calibrated"] = run_generative(index, qs, qrels, p.beams, True, ctx, "calibrated", (0.8, 0.95))
        result["calibration"] = {"feedback": stats, "curve": curve, "beta": p.dpo_beta, "train_qrels": str(tq_path)}
    for name, runs in rows.items():
        result[name] = summarize(runs)
    if ctx is not None:
        ctx.progress(0.96, "answer generation")
    result["answers"] = answer_accuracy(index, qs, rows, p.top_k_answer)
    result["queries"] = len(qs)
    result["docs"] = len(index.docs)
    result["per_query"] = {name: [{k: (sorted(v) if isinstance(v, set) else v) for k, v in r.items()}
                                  for r in runs] for name, runs in rows.items()}
    return result
