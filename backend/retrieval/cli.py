"""``python main.py retrieval index CORPUS.jsonl --out DIR [--model MODEL] [--steps N] [--json]``
and ``python main.py retrieval eval INDEX_DIR --queries Q.jsonl --qrels QRELS.tsv [--calibrate] [--json]``
(plus ``retrieval search INDEX_DIR QUERY`` and ``retrieval synth DIR --docs N`` for a known-answer corpus).

Input files are checked here, before a run is recorded, so a malformed BEIR file is one
``error: FILE:LINE: ...`` line and exit status 2.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli.common import add_json_flag, print_json, run_job
from backend.cli.params_args import add_params_arguments, params_from_args
from backend.retrieval.params import EvalParams, IndexParams, SearchParams


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("retrieval", help="generative retrieval: an LM that emits document identifiers (ReAuSE)",
                       description="Index a BEIR corpus into a causal LM, search with trie-constrained beams, "
                                   "compare with BM25, calibrate with DPO from relevance feedback.")
    rs = p.add_subparsers(dest="retrieval_command", required=True, metavar="{index,eval,search,synth}")

    i = rs.add_parser("index", help="fine-tune a causal LM to emit the identifiers of a corpus")
    i.add_argument("corpus", metavar="CORPUS.jsonl", help="BEIR corpus (_id, title, text)")
    i.add_argument("--out", required=True, help="index folder to write")
    add_params_arguments(i, IndexParams)
    i.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or mps")
    add_json_flag(i)
    i.set_defaults(func=_index)

    e = rs.add_parser("eval", help="recall@1/10, MRR, invalid rate, latency: constrained, unconstrained, BM25")
    e.add_argument("index", metavar="INDEX_DIR")
    e.add_argument("--queries", required=True, help="BEIR queries.jsonl (optional answers in metadata.answers)")
    e.add_argument("--qrels", required=True, help="BEIR qrels TSV (query-id, corpus-id, score)")
    e.add_argument("--train-queries", help="queries for relevance feedback (default: --queries)")
    e.add_argument("--train-qrels", help="qrels for relevance feedback (default: train.tsv beside --qrels)")
    add_params_arguments(e, EvalParams)
    e.add_argument("--device", default="cpu")
    add_json_flag(e)
    e.set_defaults(func=_eval)

    s = rs.add_parser("search", help="one query: ranked documents (and BM25's) with the beam trace")
    s.add_argument("index", metavar="INDEX_DIR")
    add_params_arguments(s, SearchParams, rename={"query": "--query"}, required=("query",))
    s.add_argument("--device", default="cpu")
    add_json_flag(s)
    s.set_defaults(func=_search)

    g = rs.add_parser("synth", help="write a synthetic knowledge base in the BEIR layout (known answers)")
    g.add_argument("out", metavar="DIR")
    g.add_argument("--docs", type=int, default=100, help="number of documents")
    g.add_argument("--seed", type=int, default=0)
    add_json_flag(g)
    g.set_defaults(func=_synth)


def _abs(path: str) -> str:
    return str(Path(path).expanduser().resolve())


def _index(args: argparse.Namespace) -> int:
    from backend.jobs import JobSpec
    from backend.retrieval.beir import load_corpus

    load_corpus(args.corpus)          # one line naming file and line on bad input
    params = params_from_args(args, IndexParams)
    IndexParams.from_params(params)
    if params.get("model", "").startswith("zoo:") or "model" not in params:
        from backend.retrieval.model import resolve

        resolve(params.get("model", IndexParams.model))
    elif params["model"] != "scratch":
        params["model"] = _abs(params["model"])
    out = Path(args.out)
    if out.exists() and not (out / "index.json").is_file():
        raise ValueError(f"{out}: exists and is not a retrieval index; refusing to overwrite it")
    spec = JobSpec("retrieval.index", params=params, inputs={"corpus": _abs(args.corpus), "out": _abs(args.out)},
                   device=args.device, label="retrieval index")
    return run_job(spec, args, summarize=lambda r: (
        f"indexed {r['docs']} documents ({r['pseudo_queries']} pseudo-queries) in {r['seconds']} s; "
        f"final loss {r['final_loss']:.3f}; index: {r['out']}"))


def _summary(r: dict) -> str:
    lines = [f"{'system':<14}{'R@1':>7}{'R@10':>7}{'MRR':>7}{'invalid':>9}{'ms/query':>10}"]
    for name in ("constrained", "unconstrained", "bm25", "calibrated"):
        if name in r:
            m = r[name]
            lines.append(f"{name:<14}{m['recall@1']:7.3f}{m['recall@10']:7.3f}{m['mrr']:7.3f}"
                         f"{m['invalid_rate']:9.3f}{m['latency_ms']:10.1f}")
    a = r.get("answers", {})
    if a.get("queries"):
        lines.append("answer accuracy: " + ", ".join(f"{k} {a[k]:.3f}" for k in
                                                     ("no_retrieval", "constrained", "bm25", "oracle") if k in a))
    return "\n".join(lines)


def _eval(args: argparse.Namespace) -> int:
    from backend.jobs import JobSpec
    from backend.retrieval.beir import load_qrels, load_queries

    if not (Path(args.index) / "index.json").is_file():
        raise ValueError(f"{args.index}: not a retrieval index (no index.json); build one with `retrieval index`")
    load_queries(args.queries)
    load_qrels(args.qrels)
    params = params_from_args(args, EvalParams)
    EvalParams.from_params(params)
    inputs = {"index": _abs(args.index), "queries": _abs(args.queries), "qrels": _abs(args.qrels)}
    for key in ("train_queries", "train_qrels"):
        if getattr(args, key):
            inputs[key] = _abs(getattr(args, key))
    spec = JobSpec("retrieval.eval", params=params, inputs=inputs, device=args.device, label="retrieval eval")
    return run_job(spec, args, summarize=_summary)


def _search(args: argparse.Namespace) -> int:
    from backend.jobs import JobSpec

    if not (Path(args.index) / "index.json").is_file():
        raise ValueError(f"{args.index}: not a retrieval index (no index.json)")
    params = params_from_args(args, SearchParams)
    SearchParams.from_params(params)
    spec = JobSpec("retrieval.search", params=params, inputs={"index": _abs(args.index)}, device=args.device,
                   label="retrieval search")
    return run_job(spec, args, summarize=lambda r: "\n".join(
        [f"{'rank':<5}{'generative':<36}{'score':>9}   {'bm25':<30}{'score':>8}"] +
        [f"{i + 1:<5}{(h['identifier'] if h else ''):<36}{(h['score'] if h else 0):9.3f}   "
         f"{(b['identifier'] if b else ''):<30}{(b['score'] if b else 0):8.2f}"
         for i, (h, b) in enumerate(_zip_long(r["hits"], r["bm25"]))]))


def _zip_long(a: list, b: list) -> list:
    n = max(len(a), len(b))
    return [(a[i] if i < len(a) else None, b[i] if i < len(b) else None) for i in range(n)]


def _synth(args: argparse.Namespace) -> int:
    from backend.retrieval.synth import write_kb

    if args.docs < 1:
        raise ValueError("--docs must be at least 1")
    folder = write_kb(args.out, args.docs, args.seed)
    info = {"folder": str(folder), "docs": args.docs, "corpus": str(folder / "corpus.jsonl"),
            "queries": str(folder / "queries.jsonl"), "qrels": [str(folder / "qrels" / "test.tsv"),
                                                                  str(folder / "qrels" / "train.tsv")]}
    if args.json:
        print_json(info)
    else:
        print(f"wrote {args.docs} documents, test and train queries to {folder}")
    return 0
