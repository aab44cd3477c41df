"""Merging acceptance bench on the demo zoo, plus throughput and peak memory.

    python bench/merging.py [--zoo DIR] [--limit N] [--drop 0.6] [--skip-memory] [--json OUT]

Prints per-task exact-match accuracy of the base, each fine-tune, task arithmetic, TIES,
T-Switch with oracle task choice (the reference, and Benchtop's one-knob-per-row option) with its
retention of each fine-tune's accuracy, and Auto-Switch (soft and hard per batch, soft per
prompt); T-Switch storage measured from the files; how large the task vectors are and how well a
switch rebuilds them; then merge throughput (parameters/s) and peak RSS (VmHWM) for 2, 4 and 8
fine-tunes of a larger random Llama (the "fine-tunes" are the base plus small Gaussian noise,
made here), and for 4 fine-tunes of a model twice as deep, each merge in a fresh process, to
show memory does not grow with model count x size. Exit status 1 when an acceptance target is
missed (T-Switch retention counts as met when the reference knob or the row-knob option meets it;
both verdicts are printed).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TASKS = ("add", "sub", "mul", "upper")


def accuracy_table(zoo: Path, limit: int, drop: float, work: Path) -> dict:
    from transformers import AutoTokenizer

    from backend.compression.evaluate import load_model
    from backend.merging import autoswitch
    from backend.merging.config import parse_config
    from backend.merging.evaluation import evaluate_tasks
    from backend.merging.merge import run_merge
    from backend.merging.tswitch import build_tswitch, read_switches

    files = {t: zoo / "data" / f"task_{t}_eval.jsonl" for t in TASKS}
    base = zoo / "arith-base"
    fts = {t: zoo / f"arith-ft-{t}" for t in TASKS}
    rows: dict[str, dict[str, float]] = {"base": evaluate_tasks(base, files, limit)}
    for t, f in fts.items():
        rows[f"ft-{t}"] = evaluate_tasks(f, files, limit)
    merges = {
        "task_arithmetic (lambda 1)": {"merge_method": "task_arithmetic", "parameters": {"lambda": 1.0}},
        "task_arithmetic (lambda 0.3)": {"merge_method": "task_arithmetic", "parameters": {"lambda": 0.3}},
        "ties (density 0.2)": {"merge_method": "ties", "parameters": {"density": 0.2}},
    }
    for i, (label, m) in enumerate(merges.items()):
        cfg = parse_config({**m, "base_model": str(base), "models": [{"model": str(f), "parameters": {"weight": 1.0}}
                                                                      for f in fts.values()]})
        out = work / f"merge{i}"
        run_merge(cfg, out)
        rows[label] = evaluate_tasks(out, files, limit)
    t0 = time.perf_counter()
    info = build_tswitch(base, fts, drop, work / "tswitch")
    tswitch_seconds = time.perf_counter() - t0
    storage = {t: {k: d[k] for k in ("bytes", "bits_per_param", "pct_of_fp32", "density_kept")}
               for t, d in info["tasks"].items()}
    row_info = build_tswitch(base, fts, drop, work / "tswitch-row", knob="row")
    storage_row = {t: {k: d[k] for k in ("bytes", "bits_per_param", "pct_of_fp32", "density_kept")}
                   for t, d in row_info["tasks"].items()}
    switches = {t: read_switches(work / "tswitch", t) for t in TASKS}
    row_switches = {t: read_switches(work / "tswitch-row", t) for t in TASKS}
    from backend.compression.model_io import index_tensors, read_tensor

    base_w = {n: read_tensor(e).float() for n, e in index_tensors(base).items()}
    delta_stats = {}
    for t, f in fts.items():  # how far each fine-tune moved, and how well its switch rebuilds the move
        tau = {n: read_tensor(e).float() - base_w[n] for n, e in index_tensors(f).items()}
        sq = lambda d: sum(float(v.pow(2).sum()) for v in d.values())  # noqa: E731
        delta_stats[t] = {
            "delta_over_weights": (sq(tau) / sq(base_w)) ** 0.5,
            "switch_rel_error": (sq({n: switches[t][n] - tau[n] for n in tau}) / sq(tau)) ** 0.5,
            "row_switch_rel_error": (sq({n: row_switches[t][n] - tau[n] for n in tau}) / sq(tau)) ** 0.5}
    model = load_model(base)
    base_state = {k: v.clone() for k, v in model.state_dict().items()}

    def compose(weights: dict[str, float], source: dict | None = None) -> None:
        state = {k: v.clone() for k, v in base_state.items()}
        for t, w in weights.items():
            if w:
                for name, d in (source or switches)[t].items():
                    state[name] += w * d
        model.load_state_dict(state, strict=False)

    from backend.compression.evaluate import load_examples, task_accuracy

    for label, source in ((f"T-Switch oracle (r={drop})", switches),
                          (f"T-Switch oracle, row knobs (r={drop})", row_switches)):
        oracle = {}
        for t in TASKS:
            compose({t: 1.0}, source)
            oracle[t] = task_accuracy(model, base, load_examples(files[t], limit))
        rows[label] = oracle
    tok = AutoTokenizer.from_pretrained(str(base))
    model.load_state_dict(base_state)
    router = autoswitch.fit(model, tok, {t: autoswitch.query_prompts(zoo / "data" / f"task_{t}_train.jsonl", 100)
                                          for t in TASKS}, k=10)
    chosen: dict[str, dict] = {}
    for hard in (False, True):
        accs = {}
        for t in TASKS:
            ex = load_examples(files[t], limit)
            correct, picks = 0, []
            for i in range(0, len(ex), 16):
                batch = ex[i:i + 16]
                model.load_state_dict(base_state)
                w = router.weights(autoswitch.embed(model, tok, [e["prompt"] for e in batch]), hard=hard)
                picks.append(max(w, key=w.get))
                compose(w)
                correct += task_accuracy(model, base, batch) * len(batch)
            accs[t] = correct / len(ex)
            chosen.setdefault("hard" if hard else "soft", {})[t] = picks
        rows["Auto-Switch " + ("hard" if hard else "soft")] = accs
    # one prompt at a time, as the panel's Auto-Switch box routes it (soft weights of one prompt)
    accs, routed_right = {}, 0
    for t in TASKS:
        ex = load_examples(files[t], limit)
        correct = 0
        for e in ex:
            model.load_state_dict(base_state)
            w = router.weights(autoswitch.embed(model, tok, [e["prompt"]]))
            routed_right += max(w, key=w.get) == t
            compose(w)
            correct += task_accuracy(model, base, [e])
        accs[t] = correct / len(ex)
    rows["Auto-Switch soft, per prompt"] = accs
    n_all = sum(len(load_examples(files[t], limit)) for t in TASKS)
    return {"rows": rows, "storage": storage, "storage_row_knob": storage_row, "delta_stats": delta_stats,
            "tswitch_seconds": round(tswitch_seconds, 2), "picks": chosen,
            "routing_accuracy_per_prompt": routed_right / n_all}


MEM_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, %(root)r)
import torch, safetensors.torch
from backend.merging.config import parse_config
from backend.merging.merge import run_merge
torch.set_num_threads(2)
def rss():  # VmHWM: this process's own peak (ru_maxrss would carry the forking parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before = rss()
cfg = parse_config(json.loads(%(cfg)r))
res = run_merge(cfg, %(out)r, max_shard_bytes=%(shard)d)
print(json.dumps({"params_per_s": res["params_per_s"], "seconds": res["seconds"], "files": len(res["files"]),
                  "rss_after_imports_mb": before, "peak_rss_mb": rss()}))
"""


def memory_table(work: Path, counts=(2, 4, 8), hidden: int = 512, layers: int = 8, shard_mb: int = 32) -> dict:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=4096, hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=layers,
                      num_attention_heads=8, num_key_value_heads=8, tie_word_embeddings=False)
    base = LlamaForCausalLM(cfg)
    base.save_pretrained(work / "big-base")
    n_params = sum(p.numel() for p in base.parameters())
    for i in range(max(counts)):
        with torch.no_grad():
            for p in base.parameters():
                p.add_(torch.randn_like(p) * 1e-3)
        base.save_pretrained(work / f"big-ft{i}")
    del base
    rows = {}
    for n in counts:
        raw = {"merge_method": "ties", "base_model": str(work / "big-base"),
               "models": [{"model": str(work / f"big-ft{i}"), "parameters": {"weight": 1.0, "density": 0.5}}
                          for i in range(n)]}
        code = MEM_CHILD % {"root": str(ROOT), "cfg": json.dumps(raw), "out": str(work / f"big-merged{n}"),
                            "shard": shard_mb << 20}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        rows[n] = json.loads(out.strip().splitlines()[-1])
        shutil.rmtree(work / f"big-merged{n}")
    largest = max(p.numel() for p in LlamaForCausalLM(cfg).parameters()) * 4 / 2**20
    shutil.rmtree(work)
    return {"params": n_params, "model_mb": n_params * 4 / 2**20, "largest_tensor_mb": largest, "shard_mb": shard_mb,
            "rows": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoo")
    ap.add_argument("--limit", type=int, help="evaluate on the first N examples per task (default: all)")
    ap.add_argument("--drop", type=float, default=0.6)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    from _common import demo_zoo

    zoo = demo_zoo(args.zoo)
    with tempfile.TemporaryDirectory(prefix="benchtop-merge-") as tmp:
        work = Path(tmp)
        res = accuracy_table(zoo, args.limit, args.drop, work)
        print(f"per-task exact match on the demo zoo ({zoo}), n={args.limit or 'all'} per task")
        print(f"{'model':32s}" + "".join(f"{t:>8s}" for t in TASKS) + "    mean")
        for name, accs in res["rows"].items():
            mean = sum(accs.values()) / len(accs)
            print(f"{name:32s}" + "".join(f"{100 * accs[t]:7.1f}%" for t in TASKS) + f"  {100 * mean:5.1f}%")
        rows = res["rows"]

        def retention(label: str) -> dict[str, float]:
            o = rows[label]
            return {t: (o[t] / rows[f"ft-{t}"][t]) if rows[f"ft-{t}"][t] else float("nan") for t in TASKS}

        keep = retention(f"T-Switch oracle (r={args.drop})")
        print("T-Switch oracle retention of each fine-tune's own accuracy: "
              + ", ".join(f"{t} {100 * k:.1f}%" for t, k in keep.items()))
        keep_row = retention(f"T-Switch oracle, row knobs (r={args.drop})")
        print("  with one knob per row (Benchtop's option): "
              + ", ".join(f"{t} {100 * k:.1f}%" for t, k in keep_row.items()))
        for label, st in (("", res["storage"]), (", row knobs", res["storage_row_knob"])):
            print(f"T-Switch storage at r={args.drop}{label} (measured from the files): "
                  + ", ".join(f"{t} {d['bits_per_param']:.3f} bits/param = {d['pct_of_fp32']:.2f}% of fp32 "
                              f"(density kept {d['density_kept']:.3f})" for t, d in st.items()))
        print("task vectors: " + ", ".join(
            f"{t} ||tau||/||theta_base|| {d['delta_over_weights']:.2f}, switch error ||knob*S - tau||/||tau|| "
            f"{d['switch_rel_error']:.2f} (row knobs {d['row_switch_rel_error']:.2f})"
            for t, d in res["delta_stats"].items()))
        print(f"Auto-Switch routes {100 * res['routing_accuracy_per_prompt']:.1f}% of single prompts to their own task")
        mean = lambda r: sum(r.values()) / len(r)  # noqa: E731
        auto = max(mean(rows["Auto-Switch soft"]), mean(rows["Auto-Switch hard"]))
        static = max(mean(v) for k, v in rows.items() if k.startswith(("task_arithmetic", "ties")))
        print(f"Auto-Switch best mean {100 * auto:.1f}% vs best static merge {100 * static:.1f}%")
        ref_ok, row_ok = (all(k >= 0.95 for k in r.values()) for r in (keep, keep_row))
        print("T-Switch oracle retention >= 95% on every task: "
              f"reference knob {'met' if ref_ok else 'not met'}, row knobs {'met' if row_ok else 'not met'}")
        ok = (ref_ok or row_ok) and auto > static
        if not args.skip_memory:
            mem = memory_table(work / "mem8")
            print(f"merge throughput and peak RSS (TIES density 0.5, random Llama {mem['params'] / 1e6:.1f}M params "
                  f"= {mem['model_mb']:.0f} MB fp32 per model, largest tensor {mem['largest_tensor_mb']:.0f} MB, "
                  f"{mem['shard_mb']} MB output shards, each merge in a fresh process):")
            for n, r in mem["rows"].items():
                merge_mb = r["peak_rss_mb"] - r["rss_after_imports_mb"]
                print(f"  {n} fine-tunes: {r['params_per_s'] / 1e6:.2f}M output params/s "
                      f"({(n + 1) * r['params_per_s'] / 1e6:.1f}M input params/s), peak RSS {r['peak_rss_mb']:.0f} MB "
                      f"= {r['rss_after_imports_mb']:.0f} MB after imports + {merge_mb:.0f} "
                      f"MB for the merge (inputs total {(n + 1) * mem['model_mb']:.0f} MB)")
            res["memory"] = mem
            deep = memory_table(work / "mem16", counts=(4,), layers=16)  # twice the size, same largest tensor
            r = deep["rows"][4]
            merge_mb = r["peak_rss_mb"] - r["rss_after_imports_mb"]
            print(f"  4 fine-tunes of a 16-layer Llama ({deep['params'] / 1e6:.1f}M params = "
                  f"{deep['model_mb']:.0f} MB per "
                  f"model): {r['params_per_s'] / 1e6:.2f}M output params/s, peak RSS {r['peak_rss_mb']:.0f} MB = "
                  f"{r['rss_after_imports_mb']:.0f} MB after imports + {merge_mb:.0f} MB "
                  f"for the merge (inputs total {5 * deep['model_mb']:.0f} MB)")
            res["memory_16_layers"] = deep
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=2, default=str))
    print("PASS" if ok else "FAIL (see the figures above)")
    return 0 if ok else 1


if __name__ == "__main__":
    from _common import run

    run(main)
