"""``python main.py compress BASE FT --method delta-dct --bits 1 --out ART`` and
``python main.py decompress ART --base BASE --out DIR`` (both with ``--json``)."""
from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli.common import add_json_flag, model_arg, run_job


def register(sub: argparse._SubParsersAction) -> None:
    from backend.compression.names import METHODS

    c = sub.add_parser("compress", help="compress a fine-tune's delta against its base (Delta-DCT or a baseline)",
                       description="Write a packed delta artifact (safetensors + JSON) for FT − BASE. "
                                   "Models are folders or zoo:NAME.")
    c.add_argument("base", help="base model folder or zoo:NAME")
    c.add_argument("ft", help="fine-tuned model folder or zoo:NAME")
    c.add_argument("--method", choices=METHODS, default="delta-dct")
    c.add_argument("--bits", type=float, default=1.0, help="payload bits per compressed parameter (default 1)")
    c.add_argument("--out", required=True, help="artifact folder to create (must not exist)")
    c.add_argument("--patch", type=int, help="Delta-DCT patch size (default 16)")
    c.add_argument("--quantizer", choices=["uniform", "minmax"], help="Delta-DCT per-patch quantizer")
    c.add_argument("--rescale", choices=["mean-abs", "ls", "none"], help="Delta-DCT rescale step")
    c.add_argument("--mix", help="fixed bit mix instead of rate–distortion allocation, e.g. 2:0.5,0:0.5")
    c.add_argument("--scope", choices=["tensor", "model"], help="Delta-DCT budget per tensor or model-wide")
    c.add_argument("--tensors", choices=["2d", "all"], default="2d",
                   help="which tensors to compress (default: 2-D weights; the rest is stored exactly)")
    c.add_argument("--exclude", help="regular expression of tensor names to store exactly (e.g. lm_head)")
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


def _settings(args: argparse.Namespace) -> dict:
    s = {"patch": args.patch, "quantizer": args.quantizer, "rescale": args.rescale, "scope": args.scope}
    if args.mix:
        s.update(alloc="mix", mix=args.mix)
    return {k: v for k, v in s.items() if v is not None}


def _summary(r: dict) -> str:
    s = r["sizes"]
    lines = [f"{r['method']} at {r['bits']:g} bits/param -> {r['out']}",
             f"  payload {s['payload_bpp']:.3f} bits/param, payload + metadata {s['total_bpp']:.3f} "
             f"({s['compressed_params']} compressed parameters; {s['exact_params']} stored exactly: "
             f"{', '.join(r['exact_tensors'][:4])}{'…' if len(r['exact_tensors']) > 4 else ''})",
             f"  files {s['file_bytes']} bytes (accounting within {100 * s['accounting_deviation']:.3f}%), "
             f"{s['ratio_vs_fp32_delta']:.1f}x smaller than an fp32 delta",
             f"  relative L2 error of the delta {r['rel_err']:.4f}"]
    acc = r.get("accuracy")
    if acc:
        kept = "n/a" if acc["gain_kept"] is None else f"{100 * acc['gain_kept']:.0f}%"
        lines.append(f"  accuracy base {acc['base']:.3f}, fine-tune {acc['finetuned']:.3f}, "
                     f"compressed {acc['compressed']:.3f} (gain kept {kept}, n={acc['n']})")
    return "\n".join(lines)


def _compress(args: argparse.Namespace) -> int:
    from backend.compression.methods import default_settings
    from backend.jobs import JobSpec

    if args.bits <= 0:
        raise ValueError(f"--bits must be positive, got {args.bits}")
    settings = _settings(args) if args.method == "delta-dct" else {}
    default_settings(args.method, **settings)  # bad settings fail here, before a run is recorded
    out = Path(args.out).expanduser().resolve()
    if out.exists():
        raise FileExistsError(f"output folder {out} already exists; choose another or remove it first")
    inputs = {"base": model_arg(args.base), "ft": model_arg(args.ft), "out": str(out)}
    if args.eval:
        inputs["eval"] = str(Path(args.eval).expanduser().resolve())
    params = {"method": args.method, "bits": args.bits, "settings": settings, "which": args.tensors,
              "exclude": args.exclude}
    if args.no_eval:
        params["evaluate"] = False
    spec = JobSpec("compression.compress", params=params, inputs=inputs, device=args.device,
                   label=f"compress {Path(args.ft).name} ({args.method}, {args.bits:g} bits)")
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
