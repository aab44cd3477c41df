"""Jobs ``retrieval.index``, ``retrieval.eval`` and ``retrieval.search``.

``retrieval.index`` — inputs ``corpus`` (BEIR corpus.jsonl), ``out`` (index folder); params
:class:`IndexParams`. ``retrieval.eval`` — inputs ``index``, ``queries``, ``qrels`` and optional
``train_queries``/``train_qrels`` (for ``calibrate``); params :class:`EvalParams`; the per-query
rankings go to the artifact ``rankings`` (JSON) rather than the result. ``retrieval.search`` —
input ``index``; params :class:`SearchParams`; the result holds the ranked documents, BM25's,
and the beam trace (per step: each beam's prefix and the tokens the trie allowed it).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from backend.jobs.registry import register_job

if TYPE_CHECKING:
    from backend.jobs import JobContext, JobSpec


def _need(spec: JobSpec, *keys: str) -> None:
    for key in keys:
        if not spec.inputs.get(key):
            raise ValueError(f"{spec.kind} needs the input '{key}'")


@register_job("retrieval.index", title="Generative retrieval: index a corpus")
def index_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.retrieval.index import build_index
    from backend.retrieval.params import IndexParams

    _need(spec, "corpus")
    p = IndexParams.from_params(spec.params)
    out = spec.inputs.get("out") or str(ctx.run_dir / "index")
    ctx.progress(0.0, f"loading {p.model}")
    return build_index(spec.inputs["corpus"], out, p, ctx=ctx, device=ctx.device)


@register_job("retrieval.eval", title="Generative retrieval: evaluate vs BM25")
def eval_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.retrieval.evaluate import evaluate
    from backend.retrieval.index import load_index
    from backend.retrieval.params import EvalParams
    from backend.workspace.atomic import atomic_write_json

    _need(spec, "index", "queries", "qrels")
    p = EvalParams.from_params(spec.params)
    ctx.progress(0.0, "loading the index")
    index = load_index(spec.inputs["index"], device=ctx.device)
    result = evaluate(index, spec.inputs["queries"], spec.inputs["qrels"], p, ctx=ctx,
                      train_queries=spec.inputs.get("train_queries"), train_qrels=spec.inputs.get("train_qrels"))
    rankings = result.pop("per_query")
    path = Path(ctx.run_dir) / "rankings.json"
    atomic_write_json(path, {"ids": {d.id: index.ident[d.id] for d in index.docs}, "systems": rankings},
                      indent=None)
    ctx.artifact("rankings", path)
    for name in ("constrained", "unconstrained", "bm25", "calibrated"):
        for key in ("recall@1", "recall@10", "mrr", "invalid_rate"):
            if name in result:
                ctx.metric(f"{name}/{key}", result[name][key])
    result["index"] = str(spec.inputs["index"])
    ctx.progress(1.0, "done")
    return result


@register_job("retrieval.search", title="Generative retrieval: one query")
def search_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.retrieval.bm25 import BM25
    from backend.retrieval.index import load_index
    from backend.retrieval.model import prompt_ids
    from backend.retrieval.params import SearchParams
    from backend.retrieval.search import beam_search

    _need(spec, "index")
    p = SearchParams.from_params(spec.params)
    index = load_index(spec.inputs["index"], device=ctx.device)
    prompt = prompt_ids(index.tok, p.query, index.max_query_tokens)
    res = beam_search(index.model, index.tok, prompt, index.trie, p.beams, constrained=p.constrained, trace=True)
    docs = {d.id: d for d in index.docs}
    hits = [{"doc_id": h.doc_id, "identifier": h.text, "score": h.score,
             "title": docs[h.doc_id].title if h.doc_id else "", "valid": h.doc_id is not None} for h in res.hits]
    bm25 = [{"doc_id": d, "identifier": index.ident[d], "score": s}
            for d, s in BM25(index.docs).search(p.query, p.beams)]
    return {"query": p.query, "constrained": p.constrained, "hits": hits, "bm25": bm25, "trace": res.trace,
            "index": str(spec.inputs["index"])}
