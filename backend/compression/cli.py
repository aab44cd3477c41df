"""``python main.py compress BASE FT --method delta-dct --bits 1 --out ART`` and
``python main.py decompress ART --base BASE --out DIR`` (both with ``--json``)."""
from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli.common import add_json_flag, model_arg, run_job
from backend.cli.params_args import add_params_arguments, params_from_args
from backend.compression.params import CompressParams

# the panel's and the job's name for --tensors
RENAME = {"which": "--tensors"}


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("compress", help="compress a fine-tune's delta against its base (Delta-DCT or a baseline)",
                       description="Write a packed delta artifact (safetensors + JSON) for FT − BASE. "
                                   "Models are folders or zoo:NAME.")
    c.add_argument("base", help="base model folder or zoo:NAME")
    c.add_argument("ft", help="fine-tuned model folder or zoo:NAME")
    c.add_argument("--out", required=True, help="artifact folder to create (must not exist)")
    add_params_arguments(c, CompressParams, rename=RENAME)
    c.add_argument("--distill", metavar="TEXT",
                   help="refit the stored scales on this calibration text (.txt: one text per line; .jsonl: "
                        "text, or prompt + completion/answer) so the compressed model's outputs match the "
                        "fine-tune's; Delta-DCT and BitDelta; same size")
    c.add_argument("--eval", help="JSONL with prompt/answer to measure task accuracy (zoo fine-tunes: automatic)")
    c.add_argument("--no-eval", action="store_true", help="skip the accuracy measurement")
    c.add_argument("--device", default="auto", help="auto, cpu, cuda:N or mps")
    add_json_flag(c)
    c.set_defaults(func=_compress)
    d = sub.add_parser("decompress", help="rebuild a fine-tune from a delta artifact and its base",
                       description="Apply ART to BASE and write a full Hugging Face folder to DIR.")
    d.add_argument("art", help="artifact folder written by `compress`")
    d.add_argument("--base", required=True, help="the base model the artifact was made against (folder or zoo:NAME)")
    d.add_argument("--out", required=True, help="model folder to create (must not exist)")
    d.add_argument("--device", default="auto")
    add_json_flag(d)
    d.set_defaults(func=_decompress)


def _own_dtype(r: dict, s: dict) -> str:
    """The ratio against a delta in the fine-tune's own dtype, when that is not fp32 (bf16 models)."""
    from backend.generation.export import dtype_bits, source_dtype

    try:
        dtype = source_dtype(r.get("ft", ""))
    except OSError:
        return ""
    if not dtype or dtype_bits(dtype) == 32:
        return ""
    ratio = s["ratio_vs_fp32_delta"] * dtype_bits(dtype) / 32
    return f", {ratio:.1f}x smaller than a {dtype} delta (the model's own dtype)"


def _summary(r: dict) -> str:
    s = r["sizes"]
    lines = [f"{r['method']} at {r['bits']:g} bits/param -> {r['out']}",
             f"  payload {s['payload_bpp']:.3f} bits/param, payload + metadata {s['total_bpp']:.3f} "
             f"({s['compressed_params']} compressed parameters; {s['exact_params']} stored exactly: "
             f"{', '.join(r['exact_tensors'][:4])}{'…' if len(r['exact_tensors']) > 4 else ''})",
             f"  files {s['file_bytes']} bytes (accounting within {100 * s['accounting_deviation']:.3f}%), "
             f"{s['ratio_vs_fp32_delta']:.1f}x smaller than an fp32 delta{_own_dtype(r, s)}",
             f"  relative L2 error of the delta {r['rel_err']:.4f}"]
    d = r.get("distill")
    if d:
        kl = "" if d["kl_before"] is None else f", KL to the fine-tune {d['kl_before']:.4f} -> {d['kl_after']:.4f}"
        lines.append(f"  scales distilled on {d['file']} ({d['texts']} texts, {d['steps']} steps{kl})")
    acc = r.get("accuracy")
    if acc:
        kept = "n/a" if acc["gain_kept"] is None else f"{100 * acc['gain_kept']:.0f}%"
        lines.append(f"  accuracy base {acc['base']:.3f}, fine-tune {acc['finetuned']:.3f}, "
                     f"compressed {acc['compressed']:.3f} (gain kept {kept}, n={acc['n']})")
        ci = acc.get("ci95") or {}
        if ci:
            lines.append("  95% intervals: " + ", ".join(f"{k} {lo:.3f}-{hi:.3f}" for k, (lo, hi) in ci.items()))
    sweep = r.get("sweep") or []
    if sweep:
        lines.append("  rate-distortion sweep:  method        bits  payload  total  rel. error  accuracy")
        for row in sweep:
            acc_text = f"{row['accuracy']:.3f}" if row.get("accuracy") is not None else "-"
            lines.append(f"  {'':22}{row['method']:<12}{row['bits']:>6g}{row['payload_bpp']:>9.3f}"
                         f"{row['total_bpp']:>7.3f}{row['rel_err']:>12.4f}{acc_text:>10}")
    return "\n".join(lines)


def _compress(args: argparse.Namespace) -> int:
    from backend.compression.methods import default_settings
    from backend.jobs import JobSpec

    from backend.compression.names import check_bits

    params = params_from_args(args, CompressParams)
    if "bits" in params:  # NaN, inf and budgets out of the method's range fail here, named as the option
        check_bits(params.get("method", CompressParams().method), params["bits"])
    if args.no_eval:
        params["evaluate"] = False
    p = CompressParams.from_params(params)         # bad settings fail here, before a run is recorded
    if bool(p.sweep_methods) != bool(p.sweep_bits):
        raise ValueError("--sweep-methods and --sweep-bits go together (methods x budgets)")
    default_settings(p.method, **p.settings())
    if args.distill:
        from backend.compression.distill import DistillConfig, load_texts
        from backend.compression.methods import scale_layout

        scale_layout(p.method, p.settings())           # an unsupported method fails here
        DistillConfig.from_dict(p.distill())
        load_texts(args.distill)                       # a missing or malformed file fails here
    elif "distill_steps" in params or "distill_lr" in params:
        raise ValueError("--distill-steps and --distill-lr need --distill TEXT")
    out = Path(args.out).expanduser().resolve()
    if out.exists():
        raise FileExistsError(f"output folder {out} already exists; choose another or remove it first")
    inputs = {"base": model_arg(args.base), "ft": model_arg(args.ft), "out": str(out)}
    if args.eval:
        inputs["eval"] = str(Path(args.eval).expanduser().resolve())
    if args.distill:
        inputs["calibration"] = str(Path(args.distill).expanduser().resolve())
    spec = JobSpec("compression.compress", params=params, inputs=inputs, device=args.device,
                   label=f"compress {Path(args.ft).name} ({p.method}, {p.bits:g} bits)")
    return run_job(spec, args, summarize=_summary)


def _decompress(args: argparse.Namespace) -> int:
    from backend.jobs import JobSpec

    out = Path(args.out).expanduser().resolve()
    if out.exists():
        raise FileExistsError(f"output folder {out} already exists; choose another or remove it first")
    spec = JobSpec("compression.decompress", inputs={"art": str(Path(args.art).expanduser().resolve()),
                                                     "base": model_arg(args.base), "out": str(out)},
                   device=args.device, label=f"decompress {Path(args.art).name}")
    return run_job(spec, args, summarize=lambda r: f"wrote {r['out']} ({r['tensors']} tensors, {r['params']} "
                                                     f"parameters; {r['method']} at {r['bits']:g} bits)")
