"""Generative retrieval bench: recall / MRR / invalid rate of constrained and unconstrained
decoding against BM25, DPO calibration before/after, and latency vs corpus size.

    python bench/retrieval.py [--model scratch] [--quality-docs 100] [--steps 1500]
                              [--sizes 100,1000,10000] [--size-steps 200] [--latency-queries 20]
                              [--feedback gold_or_answer] [--threads 1] [--json FILE]

Part 1 (quality): a synthetic knowledge base of ``--quality-docs`` entities (known answers),
indexed for ``--steps`` steps, evaluated on every test question with and without calibration
(DPO from relevance feedback on the separate training questions). Part 2 (scale): for each
corpus size an index trained for ``--size-steps`` steps (too few for good recall at 10,000
documents: this part measures cost), and latency per query on ``--latency-queries`` questions.
BM25 (bm25s defaults) is measured in the same run on the same queries; ratios are against it.
torch runs on ``--threads`` threads (the default 1 is the fastest on a shared 2-core machine).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.retrieval.evaluate import evaluate  # noqa: E402 - after the sys.path line
from backend.retrieval.index import build_index, load_index  # noqa: E402 - after the sys.path line
from backend.retrieval.params import EvalParams, IndexParams  # noqa: E402 - after the sys.path line
from backend.retrieval.synth import write_kb  # noqa: E402 - after the sys.path line

COLS = ("recall@1", "recall@10", "mrr", "invalid_rate", "latency_ms")


def _table(result: dict) -> str:
    lines = [f"  {'system':<14}" + "".join(f"{c:>13}" for c in COLS)]
    for name in ("constrained", "unconstrained", "bm25", "calibrated"):
        if name in result:
            lines.append(f"  {name:<14}" + "".join(f"{result[name][c]:13.3f}" for c in COLS))
    return "\n".join(lines)


def quality(work: Path, args) -> dict:
    kb = write_kb(work / f"kb{args.quality_docs}", args.quality_docs)
    t0 = time.perf_counter()
    info = build_index(kb / "corpus.jsonl", work / "idx-q", IndexParams(model=args.model, steps=args.steps,
                                                                          batch=args.batch))
    index_s = time.perf_counter() - t0
    res = evaluate(load_index(work / "idx-q"), kb / "queries.jsonl", kb / "qrels" / "test.tsv",
                   EvalParams(beams=10, calibrate=True, feedback_queries=args.quality_docs, dpo_steps=args.dpo_steps,
                              dpo_beta=args.beta, feedback=args.feedback, dpo_lr=args.dpo_lr))
    res.pop("per_query")
    res["index"] = {**info, "seconds": round(index_s, 1)}
    print(f"\n[quality] {args.quality_docs} docs, {res['queries']} test questions, index {args.steps} steps "
          f"({index_s:.0f} s, final loss {info['final_loss']:.3f})")
    print(_table(res))
    fb = res["calibration"]["feedback"]
    print(f"  calibration: {fb['pairs']} pairs from {fb['queries']} training questions, beta {args.beta}, "
          f"{args.dpo_steps} DPO steps at lr {args.dpo_lr:g}, feedback {args.feedback}; "
          f"final DPO loss {res['calibration']['curve'][-1]['loss']:.3f}")
    a = res["answers"]
    print(f"  answer accuracy (reader, top-{a['k']}): no retrieval {a['no_retrieval']:.3f}, constrained "
          f"{a['constrained']:.3f}, calibrated {a['calibrated']:.3f}, bm25 {a['bm25']:.3f}, oracle {a['oracle']:.3f}")
    return res


def scale(work: Path, args) -> list[dict]:
    rows = []
    for n in args.sizes:
        kb = write_kb(work / f"kb{n}", n)
        t0 = time.perf_counter()
        build_index(kb / "corpus.jsonl", work / f"idx{n}", IndexParams(model=args.model, steps=args.size_steps,
                                                                         batch=args.batch))
        index_s = time.perf_counter() - t0
        res = evaluate(load_index(work / f"idx{n}"), kb / "queries.jsonl", kb / "qrels" / "test.tsv",
                       EvalParams(beams=10, max_queries=args.latency_queries))
        res.pop("per_query")
        row = {"docs": n, "index_seconds": round(index_s, 1), **{s: res[s] for s in ("constrained", "unconstrained",
                                                                                     "bm25")}}
        rows.append(row)
        print(f"\n[scale] {n} docs: index {args.size_steps} steps in {index_s:.0f} s; "
              f"{res['queries']} questions")
        print(_table(res))
        print(f"  latency ratio constrained / bm25: "
              f"{res['constrained']['latency_ms'] / max(res['bm25']['latency_ms'], 1e-6):.0f}x")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="scratch", help="'scratch', zoo:NAME or an HF causal LM folder")
    ap.add_argument("--quality-docs", type=int, default=100)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--dpo-steps", type=int, default=60)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--dpo-lr", type=float, default=1e-3)
    ap.add_argument("--feedback", default="gold_or_answer", choices=("gold", "answer", "gold_or_answer"))
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--size-steps", type=int, default=200)
    ap.add_argument("--latency-queries", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    out: dict = {"settings": {k: v for k, v in vars(args).items() if k != "json"}}
    with tempfile.TemporaryDirectory(prefix="retrieval-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_quality:
            out["quality"] = quality(work, args)
        out["scale"] = scale(work, args)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"\n({out['seconds']:.0f} s)")
    if args.json:
        from backend.workspace.atomic import atomic_write_json

        atomic_write_json(Path(args.json), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
