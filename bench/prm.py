"""PRM benchmarks: one-pass vs per-prefix step scoring, sandbox throughput, zoo PRMs on ProcessBench.

    python bench/prm.py [--zoo DIR] [--solutions 64] [--sandbox-runs 20] [--device cpu]

* steps/s of one-pass scoring (every step read at its separator in one forward pass, batched)
  against per-prefix scoring (one forward pass per prefix, the TRL-evaluator pattern) on the same
  solutions; the ratio should approach the mean number of steps (more with batching).
* sandbox runs/s for a small verification snippet (each run is a fresh limited process).
* ProcessBench average F1 of zoo:arith-prm and zoo:arith-genprm on the zoo's ProcessBench set
  (skipped, with the reason, when the zoo is not built).
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _solutions(n: int, seed: int = 0) -> list[tuple[str, list[str]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        v, steps, expr = rng.randint(2, 20), [], ""
        expr = str(v)
        for _ in range(rng.randint(3, 8)):
            op, b = rng.choice("+-*"), rng.randint(2, 9)
            r = v + b if op == "+" else v - b if op == "-" else v * b
            steps.append(f"{v}{op}{b}={r}")
            expr, v = f"({expr}{op}{b})", r
        out.append((expr, steps))
    return out


def bench_scoring(prm, n: int) -> dict:
    sols = _solutions(n)
    total = sum(len(s) for _, s in sols)
    prm.score_batch(sols[:2])  # warm-up
    t = time.perf_counter()
    prm.score_batch(sols)
    one = time.perf_counter() - t
    t = time.perf_counter()
    for p, s in sols:
        prm.score_prefixes(p, s)
    per = time.perf_counter() - t
    t = time.perf_counter()
    for p, s in sols:
        prm.score(p, s)
    unbatched = time.perf_counter() - t
    return {"solutions": n, "mean_steps": total / n, "one_pass_steps_s": total / one,
            "one_pass_unbatched_steps_s": total / unbatched, "per_prefix_steps_s": total / per,
            "ratio_batched": per / one, "ratio_unbatched": per / unbatched}


def bench_sandbox(runs: int) -> dict:
    from backend.sandbox import run_python

    code = "a = 12 + 7\nprint(a * 3 == 57)"
    t = time.perf_counter()
    ok = sum(run_python(code, timeout=5).status == "ok" for _ in range(runs))
    dt = time.perf_counter() - t
    return {"runs": runs, "ok": ok, "runs_per_s": runs / dt}


def bench_processbench(zoo: str | None, device: str, limit: int | None) -> list[dict]:
    from backend.prm import load_prm
    from backend.prm.processbench import evaluate, sweep
    from backend.prm.records import check_processbench, read_jsonl

    try:
        from backend.models.zoo import resolve_model, zoo_root

        root = Path(zoo) if zoo else zoo_root()
        data = sorted((root / "data").glob("*processbench*.jsonl"))
        if not data:
            raise FileNotFoundError(f"no ProcessBench file under {root / 'data'}")
    except Exception as exc:  # noqa: BLE001 - reported, not fatal
        return [{"skipped": f"zoo ProcessBench: {exc}"}]
    recs = read_jsonl(data[0], check_processbench).records
    recs = recs[:limit] if limit else recs
    out = []
    for name in ("arith-prm", "arith-genprm"):
        folder = root / "models" / name if (root / "models" / name).is_dir() else None
        try:
            folder = folder or resolve_model(f"zoo:{name}")
            prm = load_prm(folder, device)
        except Exception as exc:  # noqa: BLE001
            out.append({"prm": name, "skipped": str(exc)})
            continue
        t = time.perf_counter()
        scores = prm.score_batch([(r["problem"], r["steps"]) for r in recs])
        dt = time.perf_counter() - t
        ev, sw = evaluate(recs, scores, 0.5), sweep(recs, scores)
        out.append({"prm": name, "samples": len(recs), "seconds": dt, "average_f1@0.5": ev["average_f1"],
                    "subsets@0.5": {k: v["f1"] for k, v in ev["subsets"].items()},
                    "best_threshold": sw["best_threshold"], "best_average_f1": sw["best_average_f1"]})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoo", help="zoo folder (default: the workspace's demo zoo)")
    ap.add_argument("--solutions", type=int, default=64)
    ap.add_argument("--sandbox-runs", type=int, default=20)
    ap.add_argument("--limit", type=int, help="ProcessBench records to use")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    from backend.prm import load_prm
    from tests.backend._prm_models import make_prm

    with tempfile.TemporaryDirectory() as tmp:
        for style in ("token-classification", "causal-lm-tokens"):
            prm = load_prm(make_prm(Path(tmp) / style, style), args.device)
            r = bench_scoring(prm, args.solutions)
            print(f"[scoring {style}] {r['solutions']} solutions, {r['mean_steps']:.2f} steps each: one-pass "
                  f"{r['one_pass_steps_s']:.0f} steps/s batched, {r['one_pass_unbatched_steps_s']:.0f} unbatched; "
                  f"per-prefix {r['per_prefix_steps_s']:.0f} steps/s; ratio {r['ratio_unbatched']:.2f}x unbatched, "
                  f"{r['ratio_batched']:.2f}x batched")
    s = bench_sandbox(args.sandbox_runs)
    print(f"[sandbox] {s['runs']} runs ({s['ok']} ok): {s['runs_per_s']:.1f} runs/s")
    for r in bench_processbench(args.zoo, args.device, args.limit):
        print(f"[processbench] {r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
