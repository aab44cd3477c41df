"""Delta compression figures on the demo zoo (docs/compression.md).

python bench/compression.py [--zoo DIR] [--bits 1] [--design] [--limit N]

Prints, per fine-tune: base / fine-tune / compressed accuracy (greedy exact match on the zoo's
eval set) and the share of the fine-tune's gain kept, for Delta-DCT and every baseline at the same
payload budget, with payload and payload+metadata bits per parameter measured from the artifact;
then batched vs per-patch-loop throughput. ``--design`` adds the sweep used to pick Delta-DCT's
settings (patch size, quantizer, allocation, rescale) and a rate–distortion table.
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

    def point(self, task: str, method: str, bits: float, settings: dict | None = None, acc: bool = True) -> dict:
        with tempfile.TemporaryDirectory() as d:
            s = artifact.compress(self.zoo / "arith-base", self.zoo / f"arith-ft-{task}", Path(d) / "a", method, bits,
                                  settings=settings, keep_recon=acc)
        row = {"rel_err": s["rel_err"], "payload_bpp": s["sizes"]["payload_bpp"], "total_bpp": s["sizes"]["total_bpp"],
               "file_bytes": s["sizes"]["file_bytes"], "deviation": s["sizes"]["accounting_deviation"]}
        if acc:
            row["accuracy"] = self.acc(task, s["recon"])
        return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", help="zoo folder (default: the workspace's demo zoo or $BENCHTOP_ZOO)")
    ap.add_argument("--bits", type=float, default=1.0)
    ap.add_argument("--limit", type=int, help="evaluate on the first N examples per task")
    ap.add_argument("--design", action="store_true", help="also run the design sweep and RD table")
    ap.add_argument("--json", help="write all figures to this JSON file")
    args = ap.parse_args()
    torch.manual_seed(0)
    zoo = zoo_dir(args.zoo)
    ev = Evaluator(zoo, args.limit)
    figs: dict = {"zoo": str(zoo), "bits": args.bits, "tasks": {}}
    print(f"zoo {zoo}; budget {args.bits:g} payload bits/param; metric: greedy exact match")
    print(f"{'task':6} {'base':>5} {'ft':>5} | " + " | ".join(f"{m:>17}" for m in METHODS))
    for t in TASKS:
        base_acc, ft_acc = ev.acc(t, None), ev.acc(t, {k: read_tensor(e) for k, e in
                                                         index_tensors(zoo / f"arith-ft-{t}").items()})
        row = {"base": base_acc, "ft": ft_acc}
        cells = []
        for m in METHODS:
            p = ev.point(t, m, args.bits)
            gain = ft_acc - base_acc
            p["gain_kept"] = (p["accuracy"] - base_acc) / gain if gain > 0 else None
            row[m] = p
            cells.append(f"{p['accuracy']:.3f} ({100 * (p['gain_kept'] or 0):4.0f}%)")
        figs["tasks"][t] = row
        print(f"{t:6} {base_acc:5.3f} {ft_acc:5.3f} | " + " | ".join(f"{c:>17}" for c in cells), flush=True)
    print("\nmethod       mean acc  mean gain kept  min gain kept  rel L2 err  payload bpp  total bpp  size check")
    for m in METHODS:
        rows = [figs["tasks"][t][m] for t in TASKS]
        kept = [r["gain_kept"] for r in rows if r["gain_kept"] is not None]
        print(f"{m:12} {sum(r['accuracy'] for r in rows) / 4:8.3f} {100 * sum(kept) / len(kept):14.0f}% "
              f"{100 * min(kept):13.0f}% {sum(r['rel_err'] for r in rows) / 4:11.3f} "
              f"{max(r['payload_bpp'] for r in rows):12.3f} {max(r['total_bpp'] for r in rows):10.3f} "
              f"{100 * max(r['deviation'] for r in rows):9.3f}%")
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
