"""Test-time scaling acceptance bench on the demo zoo.

    python bench/tts.py [--policy zoo:arith-policy] [--prm zoo:arith-genprm] [--data FILE]
                        [--limit 60] [--ns 1,2,4,8,16] [--agg last|min|prod|avg]
                        [--device cpu] [--json OUT.json]

Prints, from ONE sweep over all strategies and budgets:
  * accuracy / generated tokens / PRM calls per strategy and N (the curves' data),
  * the compute-optimal table (best strategy per difficulty bin and N),
  * the acceptance check: at the largest N, weighted Best-of-N and beam search with the PRM
    beat greedy decoding and plain majority vote;
and, separately, sampling throughput (tokens/s) batched vs one row at a time (same seeds, same
outputs) and what prefix sharing saves. Exit status 0 when the acceptance check passes.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from backend.generation.policy import Policy
    from backend.generation.prompting import ResolvedPrompt
    from backend.tts.data import Problem
    from backend.tts.params import TTSParams


def default_data() -> str:
    """The demo zoo's held-out problems (``$BENCHTOP_ZOO`` when set, else the workspace's zoo)."""
    from backend.models.zoo import zoo_data_path

    return str(zoo_data_path("problems_eval"))


def _resolved(policy: Policy, cfg: TTSParams) -> ResolvedPrompt:
    """The prompt settings a Searcher would use for this policy and config."""
    from backend.generation.prompting import PromptParams, resolve

    return resolve(policy.tokenizer, PromptParams(), cfg.max_tokens, cfg.step_tokens)


def throughput(policy: Policy, problems: list[Problem], cfg: TTSParams, rows: int = 32) -> dict:
    """Tokens/s sampling ``rows`` whole answers in one batch vs one row per call (same seeds)."""
    from backend.generation.policy import SamplingParams
    from backend.generation.prompting import build_prompt
    from backend.generation.sampling import derive_seed

    rp = _resolved(policy, cfg)
    prompts = [build_prompt(policy.tokenizer, problems[i % len(problems)].problem, rp) for i in range(rows)]
    seeds = [derive_seed(99, i) for i in range(rows)]
    sp = SamplingParams(cfg.temperature, cfg.top_p, rp.max_tokens)
    policy.generate(prompts[:2], seeds[:2], sp)                      # warm-up
    t0 = time.perf_counter()
    batched = policy.generate(prompts, seeds, sp, batch_size=rows)
    t1 = time.perf_counter()
    single = policy.generate(prompts, seeds, sp, batch_size=1)
    t2 = time.perf_counter()
    tokens = sum(c.tokens for c in batched)
    same = [c.text for c in batched] == [c.text for c in single]
    return {"rows": rows, "tokens": tokens, "batched_tok_s": tokens / (t1 - t0), "single_tok_s": tokens / (t2 - t1),
            "ratio": (t2 - t1) / (t1 - t0), "identical_outputs": same}


def prefix_sharing(policy: Policy, problems: list[Problem], cfg: TTSParams, per_prompt: int = 16,
                   n_prompts: int = 8) -> dict:
    """Time for ``n_prompts`` x ``per_prompt`` step-wise samples (the shape of one beam-search
    iteration) with and without prefilling each shared prompt once."""
    from backend.generation.policy import SamplingParams
    from backend.generation.prompting import build_prompt
    from backend.generation.sampling import derive_seed

    rp = _resolved(policy, cfg)
    prompts = [build_prompt(policy.tokenizer, problems[i % len(problems)].problem, rp)
               for i in range(n_prompts) for _ in range(per_prompt)]
    seeds = [derive_seed(7, i) for i in range(len(prompts))]
    out = {}
    for share in (False, True, False, True):
        sp = SamplingParams(cfg.temperature, cfg.top_p, rp.step_tokens, True, rp.delimiter)
        st0 = dict(policy.stats.to_dict())
        t0 = time.perf_counter()
        policy.generate(prompts, seeds, sp, batch_size=len(prompts), share_prefix=share)
        dt = time.perf_counter() - t0
        st1 = policy.stats.to_dict()
        out["shared" if share else "separate"] = {
            "seconds": dt, "prefill_seconds": st1["prefill_seconds"] - st0["prefill_seconds"],
            "prefill_tokens": st1["prefill_tokens"] - st0["prefill_tokens"]}
    out["speedup"] = out["separate"]["seconds"] / out["shared"]["seconds"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", default="zoo:arith-policy")
    ap.add_argument("--prm", default="zoo:arith-genprm")
    ap.add_argument("--data")
    ap.add_argument("--limit", type=int, default=60)
    ap.add_argument("--ns", default="1,2,4,8,16")
    ap.add_argument("--beam-width", type=int, default=4)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--agg", default="last", help="step-score aggregation: last, min, prod or avg")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 avoids contention on shared CPUs)")
    ap.add_argument("--json", help="also write every figure to this JSON file")
    args = ap.parse_args(argv)

    import torch

    from backend.generation.policy import Policy
    from backend.tts.data import load_problems
    from backend.tts.scoring import load_scorer
    from backend.tts.strategies import Searcher
    from backend.tts.sweep import recommend, run_sweep
    from backend.tts.params import TTSParams
    from backend.tts.types import STRATEGIES

    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    data = args.data or default_data()
    problems = load_problems(data, limit=args.limit)
    ns = [int(x) for x in args.ns.split(",")]
    cfg = TTSParams(n=max(ns), beam_width=args.beam_width, temperature=args.temperature, seed=0, agg=args.agg,
                    max_tokens=96, step_tokens=32, max_steps=8, batch_size=256)
    policy = Policy.load(args.policy, args.device)
    scorer = load_scorer(args.prm, args.device)
    print(f"policy {args.policy}, PRM {args.prm}, {len(problems)} problems from {data}, device {args.device}")

    t0 = time.perf_counter()
    searcher = Searcher(policy, scorer, cfg)
    last = [0.0]

    def progress(f: float, msg: str) -> None:
        if f - last[0] >= 0.1 or f >= 1.0:
            last[0] = f
            print(f"  [{100 * f:3.0f}%] {msg}  ({time.perf_counter() - t0:.0f}s)", flush=True)

    summary, _ = run_sweep(searcher, problems, list(STRATEGIES), ns, progress=progress)
    sweep_s = time.perf_counter() - t0
    print(f"\nsweep: {sweep_s:.0f}s (PRM {searcher.prm_seconds:.0f}s), "
          f"{policy.stats.generated_tokens} tokens generated\n")
    print(f"{'strategy':<13}" + "".join(f"{'N=' + str(n):>20}" for n in ns)
          + "   (accuracy / tokens / PRM calls per problem)")
    for s, by_n in summary["runs"].items():
        cells = []
        for n in ns:
            e = by_n.get(str(n))
            cells.append(f"{'-':>20}" if e is None
                         else f"{e['accuracy']:>8.3f} /{e['tokens']:>5.0f} /{e['prm_calls']:>4.0f}")
        print(f"{s:<13}" + "".join(cells))
    print("\ncompute-optimal strategy per difficulty bin (bin sizes: "
          + ", ".join(f"{b}: {c}" for b, c in summary["bin_counts"].items()) + ")")
    print(f"{'bin':<22}" + "".join(f"{'N=' + str(n):>22}" for n in ns))
    for b in ["all", *summary["bins"]]:
        row = {r["n"]: r for r in summary["compute_optimal"] if r["bin"] == b}
        print(f"{b:<22}" + "".join(f"{row[n]['strategy'] + ' ' + format(row[n]['accuracy'], '.2f'):>22}"
                                   if n in row else f"{'-':>22}" for n in ns))
    budget = summary["runs"]["majority"][str(max(ns))]["tokens"]
    rec = recommend(summary, budget)
    if rec:
        print(f"\nrecommendation for {budget:.0f} tokens/problem: {rec['strategy']} at N={rec['n']} "
              f"(accuracy {rec['accuracy']:.3f}, {rec['tokens']:.0f} tokens, {rec['prm_calls']:.0f} PRM calls)")

    top = str(max(ns))
    acc = {s: summary["runs"][s][top]["accuracy"] for s in ("majority", "weighted_bon", "beam")}
    acc["greedy"] = summary["runs"]["greedy"]["1"]["accuracy"]
    ok = all(acc[s] > max(acc["greedy"], acc["majority"]) for s in ("weighted_bon", "beam"))
    print(f"\nacceptance at N={top}: greedy {acc['greedy']:.3f}, majority {acc['majority']:.3f}, "
          f"weighted BoN {acc['weighted_bon']:.3f}, beam {acc['beam']:.3f} -> {'PASS' if ok else 'FAIL'}")

    tp = throughput(policy, problems, cfg)
    print(f"\nthroughput ({tp['rows']} rows, {tp['tokens']} tokens): batched {tp['batched_tok_s']:.0f} tok/s, "
          f"one at a time {tp['single_tok_s']:.0f} tok/s -> ratio {tp['ratio']:.1f}x "
          f"(identical outputs: {tp['identical_outputs']})")
    ps = prefix_sharing(policy, problems, cfg)
    print(f"prefix sharing (8 prompts x 16 step samples): {ps['separate']['seconds']:.3f}s -> "
          f"{ps['shared']['seconds']:.3f}s ({ps['speedup']:.2f}x); prefill tokens "
          f"{ps['separate']['prefill_tokens']} -> {ps['shared']['prefill_tokens']}")
    if args.json:
        from backend.workspace.atomic import atomic_write_json

        atomic_write_json(args.json, {"summary": summary, "throughput": tp, "prefix_sharing": ps, "acceptance": acc,
                                      "passed": ok, "sweep_seconds": sweep_s})
    return 0 if ok else 1


if __name__ == "__main__":
    from _common import run

    run(main)
