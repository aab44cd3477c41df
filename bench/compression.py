"""Delta compression figures on the demo zoo (docs/compression.md).

python bench/compression.py [--zoo DIR] [--bits 1] [--design] [--limit N] [--calibration FILE]
                            [--distill-seeds 3]

Prints, per fine-tune: base / fine-tune / compressed accuracy (greedy exact match on the zoo's
eval set) and the share of the fine-tune's gain kept, for Delta-DCT and every baseline at the same
payload budget, with payload and payload+metadata bits per parameter measured from the artifact;
Delta-DCT and BitDelta also with their scales distilled on calibration text (default: the zoo's
chain problems, none of the fine-tunes' tasks), over several distillation seeds; then batched vs
per-patch-loop throughput. ``--design`` adds the sweep used to pick Delta-DCT's settings (patch
size, quantizer, allocation, rescale) and a rate–distortion table.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from backend.compression import artifact, evaluate  # noqa: E402
from backend.compression.model_io import index_tensors, read_tensor  # noqa: E402

TASKS = ("add", "sub", "mul", "upper")
METHODS = ("delta-dct", "bitdelta", "dare", "magnitude", "lowrank")
DISTILLED = ("delta-dct", "bitdelta")   # also run with scales distilled on the calibration text


def zoo_dir(arg: str | None) -> Path:
    from backend.models.zoo import resolve_model

    return Path(arg) if arg else Path(resolve_model("zoo:arith-base")).parent


class Evaluator:
    def __init__(self, zoo: Path, limit: int | None):
        self.zoo = zoo
        self.model = evaluate.load_model(zoo / "arith-base")
        self.base_sd = {k: v.clone() for k, v in self.model.state_dict().items()}
        self.examples = {t: evaluate.load_examples(zoo / "data" / f"task_{t}_eval.jsonl", limit) for t in TASKS}

    def acc(self, task: str, sd: dict | None) -> float:
        self.model.load_state_dict(self.base_sd)
        if sd is not None:
            self.model.load_state_dict(sd, strict=False)
        return evaluate.task_accuracy(self.model, self.zoo / "arith-base", self.examples[task])

    def point(self, task: str, method: str, bits: float, settings: dict | None = None, acc: bool = True,
              distill: dict | None = None) -> dict:
        with tempfile.TemporaryDirectory() as d:
            s = artifact.compress(self.zoo / "arith-base", self.zoo / f"arith-ft-{task}", Path(d) / "a", method, bits,
                                  settings=settings, keep_recon=acc, distill=distill)
        row = {"rel_err": s["rel_err"], "payload_bpp": s["sizes"]["payload_bpp"], "total_bpp": s["sizes"]["total_bpp"],
               "file_bytes": s["sizes"]["file_bytes"], "deviation": s["sizes"]["accounting_deviation"]}
        if acc:
            row["accuracy"] = self.acc(task, s["recon"])
        if s.get("distill"):
            row["kl"] = [s["distill"]["kl_before"], s["distill"]["kl_after"]]
        return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", help="zoo folder (default: the workspace's demo zoo or $BENCHTOP_ZOO)")
    ap.add_argument("--bits", type=float, default=1.0)
    ap.add_argument("--limit", type=int, help="evaluate on the first N examples per task")
    ap.add_argument("--design", action="store_true", help="also run the design sweep and RD table")
    ap.add_argument("--json", help="write all figures to this JSON file")
    ap.add_argument("--calibration", help="calibration text for scale distillation (default: the zoo's "
                                          "data/problems_train.jsonl)")
    ap.add_argument("--distill-seeds", type=int, default=3, help="distillation seeds per method (default 3)")
    args = ap.parse_args()
    torch.manual_seed(0)
    zoo = zoo_dir(args.zoo)
    ev = Evaluator(zoo, args.limit)
    figs: dict = {"zoo": str(zoo), "bits": args.bits, "tasks": {}}
    cal = Path(args.calibration) if args.calibration else zoo / "data" / "problems_train.jsonl"
    seeds = list(range(max(1, args.distill_seeds)))
    columns = [(m, None) for m in METHODS[:2]] + [(m, s) for m in DISTILLED for s in seeds] + \
              [(m, None) for m in METHODS[2:]]
    figs["calibration"] = str(cal)
    print(f"zoo {zoo}; budget {args.bits:g} payload bits/param; metric: greedy exact match")
    print(f"distilled = scales refitted on {cal} (200 steps; seeds {seeds})")
    label = {(m, s): m if s is None else f"{m}+d{s}" for m, s in columns}
    print(f"{'task':6} {'base':>5} {'ft':>5} | " + " | ".join(f"{label[c]:>13}" for c in columns))
    for t in TASKS:
        base_acc, ft_acc = ev.acc(t, None), ev.acc(t, {k: read_tensor(e) for k, e in
                                                         index_tensors(zoo / f"arith-ft-{t}").items()})
        row = {"base": base_acc, "ft": ft_acc}
        cells = []
        for m, seed in columns:
            d = None if seed is None else {"file": str(cal), "seed": seed}
            p = ev.point(t, m, args.bits, distill=d)
            gain = ft_acc - base_acc
            p["gain_kept"] = (p["accuracy"] - base_acc) / gain if gain > 0 else None
            row[label[(m, seed)]] = p
            cells.append(f"{p['accuracy']:.3f} ({100 * (p['gain_kept'] or 0):3.0f}%)")
        figs["tasks"][t] = row
        print(f"{t:6} {base_acc:5.3f} {ft_acc:5.3f} | " + " | ".join(f"{c:>13}" for c in cells), flush=True)
    print("\nmethod         mean acc  mean gain kept  min gain kept  rel L2 err  payload bpp  total bpp  size check")
    for c in columns:
        rows = [figs["tasks"][t][label[c]] for t in TASKS]
        kept = [r["gain_kept"] for r in rows if r["gain_kept"] is not None]
        print(f"{label[c]:14} {sum(r['accuracy'] for r in rows) / 4:8.3f} {100 * sum(kept) / len(kept):14.0f}% "
              f"{100 * min(kept):13.0f}% {sum(r['rel_err'] for r in rows) / 4:11.3f} "
              f"{max(r['payload_bpp'] for r in rows):12.3f} {max(r['total_bpp'] for r in rows):10.3f} "
              f"{100 * max(r['deviation'] for r in rows):9.3f}%")
    verdicts(figs, seeds, args.bits)
    # throughput on the same tensors
    from backend.compression.throughput import measure

    b, f = index_tensors(zoo / "arith-base"), index_tensors(zoo / "arith-ft-add")
    deltas = [read_tensor(f[n]).float() - read_tensor(b[n]).float() for n in sorted(f) if len(f[n].shape) == 2]
    tp = measure(deltas, args.bits)
    figs["throughput"] = tp
    print(f"\nthroughput on {tp['params']} parameters (arith-ft-add, all 2-D deltas, {tp['device']}):")
    print(f"  compress   batched {tp['compress_batched_params_per_s']:.3g} params/s, loop "
          f"{tp['compress_loop_params_per_s']:.3g} params/s, ratio {tp['compress_ratio']:.1f}x")
    print(f"  decompress batched {tp['decompress_batched_params_per_s']:.3g} params/s, loop "
          f"{tp['decompress_loop_params_per_s']:.3g} params/s, ratio {tp['decompress_ratio']:.1f}x")
    if args.design:
        design(ev, args.bits, figs)
    if args.json:
        Path(args.json).write_text(json.dumps(figs, indent=2))
    return 0


def verdicts(figs: dict, seeds: list[int], bits: float) -> None:
    """The acceptance lines: >= 90% of each gain within 1.1 bits, and Delta-DCT against BitDelta
    and DARE on the average, data-free and with distilled scales (every seed must pass)."""
    def kept(col: str) -> list[float]:
        return [figs["tasks"][t][col]["gain_kept"] for t in TASKS]

    def bpp(col: str) -> float:
        return max(figs["tasks"][t][col]["total_bpp"] for t in TASKS)

    def mean_acc(col: str) -> float:
        return sum(figs["tasks"][t][col]["accuracy"] for t in TASKS) / len(TASKS)

    print(f"\nverdicts at {bits:g} payload bit(s):")
    free = kept("delta-dct")
    print(f"  data-free Delta-DCT keeps {' / '.join(f'{100 * k:.0f}' for k in free)}% (total {bpp('delta-dct'):.3f} "
          f"bpp): >= 90% of each gain {'met' if min(free) >= 0.9 and bpp('delta-dct') <= 1.1 else 'NOT met'}")
    per_task = {t: [figs["tasks"][t][f"delta-dct+d{s}"]["gain_kept"] for s in seeds] for t in TASKS}
    worst = min(min(v) for v in per_task.values())
    tot = max(bpp(f"delta-dct+d{s}") for s in seeds)
    print(f"  distilled Delta-DCT keeps (min-max over {len(seeds)} seeds) " +
          " / ".join(f"{100 * min(v):.0f}-{100 * max(v):.0f}" for v in per_task.values()) +
          f"% (total {tot:.3f} bpp): >= 90% of each gain on every seed {'met' if worst >= 0.9 and tot <= 1.1 else 'NOT met'}")
    figs["verdict"] = {"data_free_min_kept": min(free), "distilled_min_kept": worst, "distilled_total_bpp": tot}
    beats = mean_acc("delta-dct") > max(mean_acc("bitdelta"), mean_acc("dare"))
    d_beats = all(mean_acc(f"delta-dct+d{s}") > max(mean_acc(f"bitdelta+d{s}"), mean_acc("dare")) for s in seeds)
    print(f"  Delta-DCT beats BitDelta and DARE on the average: data-free {'yes' if beats else 'NO'} "
          f"({mean_acc('delta-dct'):.3f} vs {mean_acc('bitdelta'):.3f} / {mean_acc('dare'):.3f}); "
          f"both distilled {'yes' if d_beats else 'NO'}")


def design(ev: Evaluator, bits: float, figs: dict) -> None:
    variants = {"default (p16, uniform, rd per tensor, mean-abs)": {}}
    for p in (8, 32):
        variants[f"patch {p}"] = {"patch": p}
    variants["quantizer minmax"] = {"quantizer": "minmax"}
    variants["rescale ls"] = {"rescale": "ls"}
    variants["rescale none"] = {"rescale": "none"}
    variants["scope model"] = {"scope": "model"}
    variants["mix 2:0.5,0:0.5"] = {"alloc": "mix", "mix": "2:0.5,0:0.5"}
    variants["mix 1:1"] = {"alloc": "mix", "mix": "1:1"}
    variants["mix 2:0.5,0:0.5 minmax"] = {"alloc": "mix", "mix": "2:0.5,0:0.5", "quantizer": "minmax"}
    print(f"\ndesign sweep at {bits:g} bits (accuracy per task add/sub/mul/upper, mean, rel err, total bpp)")
    figs["design"] = {}
    for label, st in variants.items():
        pts = {t: ev.point(t, "delta-dct", bits, st) for t in TASKS}
        figs["design"][label] = pts
        accs = [pts[t]["accuracy"] for t in TASKS]
        print(f"  {label:48} {' '.join(f'{a:.2f}' for a in accs)}  mean {sum(accs) / 4:.3f}  "
              f"err {sum(p['rel_err'] for p in pts.values()) / 4:.3f}  bpp {pts['add']['total_bpp']:.3f}", flush=True)
    print("\nrate–distortion (mean over tasks: accuracy / rel err / total bpp)")
    figs["rd"] = {}
    for m in METHODS:
        cells = []
        for b in (0.5, 1, 2, 4):
            if m == "bitdelta" and b < 1:
                cells.append(f"{'-':>20}")
                continue
            pts = [ev.point(t, m, b) for t in TASKS]
            figs["rd"].setdefault(m, {})[b] = pts
            cells.append(f"{sum(p['accuracy'] for p in pts) / 4:.3f}/{sum(p['rel_err'] for p in pts) / 4:.3f}/"
                         f"{max(p['total_bpp'] for p in pts):.2f}")
        print(f"  {m:10} " + "  ".join(f"{c:>20}" for c in cells), flush=True)


if __name__ == "__main__":
    t0 = time.perf_counter()
    try:
        rc = main()
    except FileNotFoundError as e:  # no zoo or data file there: say which, without a traceback
        sys.exit(f"error: {e}")
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    sys.exit(rc)
