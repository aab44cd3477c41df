"""Delta compression figures on the demo zoo (docs/compression.md).

python bench/compression.py [--zoo DIR] [--bits 1] [--design] [--limit N] [--calibration FILE]
                            [--distill-seeds 3] [--screenshot PNG]

Prints, per fine-tune: base / fine-tune / compressed accuracy (greedy exact match on the zoo's
eval set) and the share of the fine-tune's gain kept, for Delta-DCT and every baseline at the same
payload budget, with payload and payload+metadata bits per parameter measured from the artifact;
Delta-DCT and BitDelta also with their scales distilled on calibration text: each fine-tune's own
training prompts, and the zoo's chain problems (none of the tasks), Delta-DCT over several
distillation seeds; then batched vs per-patch-loop throughput. ``--design`` adds the sweep used to
pick Delta-DCT's settings (patch size, quantizer, allocation, rescale) and a rate–distortion table.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from _common import demo_zoo, grab_when  # noqa: E402
from backend.compression import artifact, evaluate  # noqa: E402
from backend.compression.model_io import index_tensors, read_tensor  # noqa: E402

TASKS = ("add", "sub", "mul", "upper")
METHODS = ("delta-dct", "bitdelta", "dare", "magnitude", "lowrank")
DISTILLED = ("delta-dct", "bitdelta")   # also run with scales distilled on the calibration text


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
    ap.add_argument("--calibration", help="one calibration text for every fine-tune's scale distillation "
                                          "(default: two runs, each fine-tune's own training prompts and the "
                                          "zoo's chain problems)")
    ap.add_argument("--distill-seeds", type=int, default=3, help="distillation seeds for Delta-DCT (default 3)")
    ap.add_argument("--screenshot", metavar="PNG", help="only render the panel (arith-ft-sub, distilled on its own "
                                                        "training prompts, with the rate–distortion sweep) to PNG")
    args = ap.parse_args()
    torch.manual_seed(0)
    zoo = demo_zoo(args.zoo)
    if args.screenshot:
        screenshot(zoo, Path(args.screenshot))
        return 0
    ev = Evaluator(zoo, args.limit)
    figs: dict = {"zoo": str(zoo), "bits": args.bits, "tasks": {}}
    texts = ({"given": lambda t: Path(args.calibration)} if args.calibration else
             {"own": lambda t: zoo / "data" / f"task_{t}_train.jsonl",
              "chains": lambda t: zoo / "data" / "problems_train.jsonl"})
    seeds = list(range(max(1, args.distill_seeds)))
    # (label, method, calibration, seed): data-free, then distilled (BitDelta: first seed only)
    variants = [(m, m, None, None) for m in METHODS[:2]]
    for cal in texts:
        variants += [(f"delta-dct+{cal}{s}", "delta-dct", cal, s) for s in seeds]
        variants.append((f"bitdelta+{cal}{seeds[0]}", "bitdelta", cal, seeds[0]))
    variants += [(m, m, None, None) for m in METHODS[2:]]
    figs["calibration"] = {k: str(f("<task>")) for k, f in texts.items()}
    print(f"zoo {zoo}; budget {args.bits:g} payload bits/param; metric: greedy exact match")
    print("distilled: +own = scales refitted on the fine-tune's own training prompts (data/task_<task>_train.jsonl), "
          "+chains = on the zoo's chain problems (data/problems_train.jsonl, none of the tasks)"
          if not args.calibration else f"distilled: +given = scales refitted on {args.calibration}")
    print("(200 steps; the digit after the name is the distillation seed)\n")
    base_ft = {}
    for t in TASKS:
        base_ft[t] = (ev.acc(t, None), ev.acc(t, {k: read_tensor(e) for k, e in
                                                  index_tensors(zoo / f"arith-ft-{t}").items()}))
        figs["tasks"][t] = {"base": base_ft[t][0], "ft": base_ft[t][1]}
    print(f"{'':22}" + "".join(f"{t:>14}" for t in TASKS) +
          "   mean acc  mean kept  min kept  rel err  payload  total  size check")
    print(f"{'base / fine-tune':22}" + "".join(f"{f'{base_ft[t][0]:.3f} / {base_ft[t][1]:.3f}':>14}" for t in TASKS))
    for label, m, cal, seed in variants:
        rows = []
        for t in TASKS:
            d = None if cal is None else {"file": str(texts[cal](t)), "seed": seed}
            p = ev.point(t, m, args.bits, distill=d)
            base_acc, ft_acc = base_ft[t]
            p["gain_kept"] = (p["accuracy"] - base_acc) / (ft_acc - base_acc) if ft_acc > base_acc else None
            figs["tasks"][t][label] = p
            rows.append(p)
        kept = [r["gain_kept"] for r in rows if r["gain_kept"] is not None]
        print(f"{label:22}" + "".join(f"{r['accuracy']:7.3f} ({100 * (r['gain_kept'] or 0):3.0f}%)" for r in rows) +
              f"   {sum(r['accuracy'] for r in rows) / 4:8.3f} {100 * sum(kept) / len(kept):9.0f}% "
              f"{100 * min(kept):8.0f}% {sum(r['rel_err'] for r in rows) / 4:8.3f} "
              f"{max(r['payload_bpp'] for r in rows):8.3f} {max(r['total_bpp'] for r in rows):6.3f} "
              f"{100 * max(r['deviation'] for r in rows):9.3f}%", flush=True)
    verdicts(figs, list(texts), seeds, args.bits)
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


def screenshot(zoo: Path, png: Path, task: str = "sub") -> None:
    """The panel as docs/screenshots/compression.png shows it: a fresh workspace, the zoo's base
    and ``arith-ft-<task>``, scale distillation on (the panel suggests the fine-tune's training
    prompts), its default sweep; grabbed once the run is drawn."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.application import create_context, make_app
    from app.panels.compression import CompressionPanel
    from app.theme import apply_theme

    app = make_app()
    app.setProperty("benchtop_no_dialogs", True)
    apply_theme(app, "light")
    ctx = create_context(tempfile.mkdtemp(prefix="compression-shot-"),
                         settings_file=os.path.join(tempfile.mkdtemp(), "s.ini"))
    ctx.set_device_getter(lambda: "cpu")
    panel = CompressionPanel(ctx)
    panel.resize(1360, 900)
    panel.show()
    panel.base.set_value(str(zoo / "arith-base"))
    panel.ft.set_value(str(zoo / f"arith-ft-{task}"))
    panel.distill.setChecked(True)
    run_id = panel.start()
    grab_when(app, panel, lambda: panel._run is not None and panel._run.id == run_id, png)
    ctx.runner.shutdown(timeout=60)
    print(f"screenshot: {png} (calibration {panel.calibration.value()})")


def verdicts(figs: dict, calibrations: list[str], seeds: list[int], bits: float) -> None:
    """The acceptance lines: >= 90% of each gain within 1.1 bits (data-free, and distilled on each
    calibration text, where every seed must pass), and Delta-DCT against BitDelta and DARE on the
    average (distilled Delta-DCT against BitDelta distilled on the same text)."""
    def col(label: str, key: str) -> list:
        return [figs["tasks"][t][label][key] for t in TASKS]

    def mean_acc(label: str) -> float:
        return sum(col(label, "accuracy")) / len(TASKS)

    print(f"\nverdicts at {bits:g} payload bit(s):")
    free, bpp = col("delta-dct", "gain_kept"), max(col("delta-dct", "total_bpp"))
    print(f"  data-free Delta-DCT keeps {' / '.join(f'{100 * k:.0f}' for k in free)}% (total {bpp:.3f} bpp): "
          f">= 90% of each gain {'met' if min(free) >= 0.9 and bpp <= 1.1 else 'NOT met'}")
    figs["verdict"] = {"data_free_min_kept": min(free)}
    for cal in calibrations:
        labels = [f"delta-dct+{cal}{s}" for s in seeds]
        per_task = [[figs["tasks"][t][lb]["gain_kept"] for lb in labels] for t in TASKS]
        worst = min(min(v) for v in per_task)
        tot = max(max(col(lb, "total_bpp")) for lb in labels)
        print(f"  Delta-DCT distilled on {cal:6} keeps (min-max over {len(seeds)} seeds) " +
              " / ".join(f"{100 * min(v):.0f}-{100 * max(v):.0f}" for v in per_task) +
              f"% (total {tot:.3f} bpp): >= 90% of each gain on every seed "
              f"{'met' if worst >= 0.9 and tot <= 1.1 else 'NOT met'}")
        bd = f"bitdelta+{cal}{seeds[0]}"
        print(f"    and beats BitDelta distilled on the same text and DARE on the average: "
              f"{'yes' if mean_acc(labels[0]) > max(mean_acc(bd), mean_acc('dare')) else 'NO'} "
              f"({mean_acc(labels[0]):.3f} vs {mean_acc(bd):.3f} / {mean_acc('dare'):.3f})")
        figs["verdict"][cal] = {"min_kept": worst, "total_bpp": tot}
    beats = mean_acc("delta-dct") > max(mean_acc("bitdelta"), mean_acc("dare"))
    print(f"  data-free Delta-DCT beats BitDelta and DARE on the average: {'yes' if beats else 'NO'} "
          f"({mean_acc('delta-dct'):.3f} vs {mean_acc('bitdelta'):.3f} / {mean_acc('dare'):.3f})")


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
    from _common import run

    run(main, timed=True)
