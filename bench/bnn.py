"""Binary-networks bench: STE vs learned gradients on digits over seeds, and a set it was not tuned on.

    nice -n 10 python bench/bnn.py [--seeds 5] [--epochs 20] [--holdout breast_cancer,wine]
                                   [--holdout-seeds 2] [--json docs/bnn_bench.json]

1. digits (the set the defaults were chosen on): every method × ``--seeds`` seeds with the default
   settings. Per method: final test accuracy mean ± std, final training loss, seconds per epoch
   and the cost ratio against STE + SGD and STE + Adam measured in the same run. Paired by seed
   (same split, pretrained network and batch order): STE-SGD against every other arm and each
   learned arm against STE-Adam, with the paired t-test and the Wilcoxon signed-rank test.
   The note's prediction is STE-SGD < learned-gradient arms ≈ STE-Adam.
2. ``--holdout`` sets (not used to choose any setting): FSG against STE-SGD over
   ``--holdout-seeds`` seeds; the acceptance asks FSG's mean test accuracy to be at least STE-SGD's.

Exit 0 when STE-SGD is below every other arm on digits and FSG ≥ STE-SGD on every holdout set.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402 - after the sys.path line

from backend.bnn.params import METHODS, BnnTrainParams  # noqa: E402 - after the sys.path line
from backend.bnn.stats import mean_std, paired_test  # noqa: E402 - after the sys.path line
from backend.bnn.trainer import train  # noqa: E402 - after the sys.path line

ALPHA = 0.05


def run_grid(data: str, methods: tuple[str, ...], seeds: int, epochs: int | None) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {m: [] for m in methods}
    for seed in range(seeds):
        for m in methods:
            kw = {"method": m, "seed": seed} | ({"epochs": epochs} if epochs else {})
            r = train(data, BnnTrainParams(**kw).validate())
            out[m].append(r)
            print(f"  {data:>13} seed {seed} {m:>9}: test {r['test_accuracy']:.4f}  loss {r['train_loss'][-1]:.4f}  "
                  f"{r['mean_epoch_time_s']:.3f} s/epoch", flush=True)
    return out


def _acc(runs: list[dict]) -> list[float]:
    return [r["test_accuracy"] for r in runs]


def _p(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def summarize(grid: dict[str, list[dict]]) -> dict:
    sgd_t = sum(r["mean_epoch_time_s"] for r in grid["ste-sgd"]) / len(grid["ste-sgd"])
    adam_t = sum(r["mean_epoch_time_s"] for r in grid["ste-adam"]) / len(grid["ste-adam"])
    rows = {}
    print(f"\n{'method':>10} {'test acc mean ± std':>22} {'final loss':>11} {'s/epoch':>9} "
          f"{'× STE-SGD':>10} {'× STE-Adam':>11}")
    for m, runs in grid.items():
        mean, std = mean_std(_acc(runs))
        loss = sum(r["train_loss"][-1] for r in runs) / len(runs)
        t = sum(r["mean_epoch_time_s"] for r in runs) / len(runs)
        rows[m] = {"acc_mean": mean, "acc_std": std, "accs": _acc(runs), "final_loss": loss, "s_per_epoch": t,
                   "cost_vs_ste_sgd": t / sgd_t, "cost_vs_ste_adam": t / adam_t,
                   "fp_acc_mean": mean_std([r["fp_test_accuracy"] for r in runs])[0],
                   "loss_curve_mean": [sum(c) / len(c) for c in zip(*(r["train_loss"] for r in runs))]}
        print(f"{m:>10} {mean:>13.4f} ± {std:.4f} {loss:>11.4f} {t:>9.3f} {t / sgd_t:>10.2f} {t / adam_t:>11.2f}")
    tests: dict[str, dict] = {"test_accuracy": {}, "final_train_loss": {}}
    pairs = [("ste-adam", "ste-sgd"), ("metaquant", "ste-sgd"), ("fsg", "ste-sgd"),
             ("metaquant", "ste-adam"), ("fsg", "ste-adam"), ("fsg", "metaquant")]
    for what, get in (("test_accuracy", _acc), ("final_train_loss", lambda rs: [r["train_loss"][-1] for r in rs])):
        print(f"\npaired by seed, {what.replace('_', ' ')} (t-test p, Wilcoxon p):")
        for a, b in pairs:
            t = paired_test(get(grid[a]), get(grid[b]))
            tests[what][f"{a} - {b}"] = t
            sig = t["t_p"] is not None and t["t_p"] < ALPHA
            verdict = "significant" if sig else "no significant difference"
            print(f"  {a:>9} − {b:<9} Δ {t['mean_diff']:+.4f}  t p={_p(t['t_p'])}  Wilcoxon p={_p(t['wilcoxon_p'])}"
                  f"  -> {verdict}")
    return {"methods": rows, "tests": tests}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=None, help="binary fine-tuning epochs (default: the job's default)")
    ap.add_argument("--holdout", default="breast_cancer,wine", help="comma-separated sets not used for tuning")
    ap.add_argument("--holdout-seeds", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    print(f"digits: {len(METHODS)} methods × {args.seeds} seeds, defaults {BnnTrainParams().to_dict()}")
    grid = run_grid("digits", METHODS, args.seeds, args.epochs)
    report = {"digits": summarize(grid), "holdout": {}, "settings": BnnTrainParams().to_dict() | (
        {"epochs": args.epochs} if args.epochs else {}), "seeds": args.seeds}
    accs = {m: report["digits"]["methods"][m]["acc_mean"] for m in METHODS}
    ordering = all(accs["ste-sgd"] < accs[m] for m in METHODS if m != "ste-sgd")
    print(f"\nordering STE-SGD below every other arm (means): {'yes' if ordering else 'NO'}")
    holdout_ok = True
    for name in [s for s in args.holdout.split(",") if s]:
        g = run_grid(name, ("ste-sgd", "fsg"), args.holdout_seeds, args.epochs)
        fsg, sgd = mean_std(_acc(g["fsg"]))[0], mean_std(_acc(g["ste-sgd"]))[0]
        ok = fsg >= sgd
        holdout_ok &= ok
        report["holdout"][name] = {"fsg": _acc(g["fsg"]), "ste-sgd": _acc(g["ste-sgd"]), "fsg_mean": fsg,
                                   "ste_sgd_mean": sgd, "fsg_at_least_ste_sgd": ok,
                                   "cost_fsg_vs_ste_sgd": sum(r["mean_epoch_time_s"] for r in g["fsg"])
                                   / sum(r["mean_epoch_time_s"] for r in g["ste-sgd"])}
        print(f"holdout {name}: FSG {fsg:.4f} vs STE-SGD {sgd:.4f} over {args.holdout_seeds} seeds -> "
              f"{'FSG >= STE-SGD' if ok else 'FSG BELOW STE-SGD'}")
    report["ordering_holds"], report["holdout_ok"] = ordering, holdout_ok
    report["wall_s"] = time.perf_counter() - t0
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
        print(f"figures written to {args.json}")
    print(f"({report['wall_s']:.0f} s)")
    return 0 if ordering and holdout_ok else 1


if __name__ == "__main__":
    sys.exit(main())
