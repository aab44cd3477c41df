"""``python main.py fope train --text FILE --pos {rope,fope,nope,alibi} --train-len 64 [--steps N] [--seed S]
--out DIR [--json]``, ``python main.py fope eval MODEL --text FILE --lengths 64,128,256,512 [--json]``,
``python main.py fope convert MODEL --out DIR`` and ``python main.py fope sample-text {pydoc,stdlib} --out FILE``."""
from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli.common import add_json_flag, run_job


def register(sub: argparse._SubParsersAction) -> None:
    from backend.cli.params_args import add_params_arguments
    from backend.positions.settings import (
        FopeConvertParams,
        FopeEvalParams,
        FopeTrainParams,
    )

    p = sub.add_parser("fope", help="position embeddings lab: RoPE, FoPE, NoPE, ALiBi length generalization",
                       description="Train tiny LMs with different position embeddings, measure perplexity and "
                                   "key-value recall beyond the training length, add FoPE to HF models.")
    fs = p.add_subparsers(dest="fope_command", required=True, metavar="{train,eval,convert,sample-text}")
    t = fs.add_parser("train", help="train a tiny char-level causal LM from scratch",
                      description=FopeTrainParams.__doc__)
    t.add_argument("--text", required=True, help="UTF-8 text file (first 90%% trains, last 10%% is held out)")
    t.add_argument("--out", required=True, help="output model folder (must not exist)")
    add_params_arguments(t, FopeTrainParams)
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    add_json_flag(t)
    t.set_defaults(func=_train)
    e = fs.add_parser("eval", help="perplexity and key-value recall per evaluation length",
                      description=(FopeEvalParams.__doc__ or "") + " On the model's training text the held-out tail "
                                  "is used; on another text, all of it.")
    e.add_argument("model", help="model folder written by 'fope train' or 'fope convert'")
    e.add_argument("--text", required=True, help="UTF-8 text file")
    add_params_arguments(e, FopeEvalParams)
    e.add_argument("--device", default="auto")
    add_json_flag(e)
    e.set_defaults(func=_eval)
    c = fs.add_parser("convert", help="add FoPE to an existing HF Llama/Qwen2-style model",
                      description=(FopeConvertParams.__doc__ or "") + " With the defaults (σ 0, no clipping, no cap) "
                                  "the converted model reproduces the source's logits.")
    c.add_argument("model", help="HF model folder (Llama/Qwen2-style)")
    c.add_argument("--out", required=True, help="output folder (must not exist)")
    add_params_arguments(c, FopeConvertParams)
    c.add_argument("--device", default="auto")
    add_json_flag(c)
    c.set_defaults(func=_convert)
    s = fs.add_parser("sample-text", help="write an offline sample text (pydoc topics or stdlib docstrings)")
    s.add_argument("name", choices=["pydoc", "stdlib"])
    s.add_argument("--out", required=True, help="output text file (must not exist)")
    s.set_defaults(func=_sample)


def _text(path: str) -> str:
    from backend.positions.data import read_text

    read_text(path)              # one clear line for a missing, empty or binary file, before a run starts
    return str(Path(path).resolve())


def _train(args: argparse.Namespace) -> int:
    from backend.cli.params_args import params_from_args
    from backend.jobs import JobSpec
    from backend.positions.settings import FopeTrainParams

    params = params_from_args(args, FopeTrainParams)
    FopeTrainParams.from_params(params)
    if Path(args.out).exists():
        raise FileExistsError(f"output folder {args.out} already exists; choose another or remove it first")
    spec = JobSpec("fope.train", params=params, inputs={"text": _text(args.text), "out": str(Path(args.out).resolve())},
                   device=args.device, label=f"fope train {params.get('pos', 'fope')}")
    return run_job(spec, args, summarize=lambda r: (
        f"trained {r['pos']} for {r['steps']} steps in {r['train_seconds']:.0f} s; final loss {r['final_loss']:.3f}; "
        f"held-out perplexity at {r['train_len']}: {r['val_ppl_at_train_len']:.3f}\nmodel: {r['model']}\n"
        "note: load it with Benchtop ('fope eval'); plain transformers would load it as RoPE"))


def _eval(args: argparse.Namespace) -> int:
    from backend.cli.params_args import params_from_args
    from backend.jobs import JobSpec
    from backend.positions.model import position_config
    from backend.positions.settings import FopeEvalParams

    params = params_from_args(args, FopeEvalParams)
    FopeEvalParams.from_params(params)
    model = str(Path(args.model).resolve())
    position_config(model)      # a folder that is not a model fails here
    spec = JobSpec("fope.eval", params=params, inputs={"model": model, "text": _text(args.text)},
                   device=args.device, label="fope eval")

    def summary(r: dict) -> str:
        lines = [f"{r['pos']} (trained at {r['train_len']}) on {'held-out ' if r['held_out'] else ''}{r['text']}",
                 "length  perplexity  recall"]
        for length, ppl in r["perplexity"].items():
            acc = r["recall"].get(length)
            lines.append(f"{length:>6}  {ppl:10.3f}  {'' if acc is None else f'{acc:6.2f}'}")
        return "\n".join(lines)

    return run_job(spec, args, summarize=summary)


def _convert(args: argparse.Namespace) -> int:
    from backend.cli.params_args import params_from_args
    from backend.jobs import JobSpec
    from backend.positions.model import position_config
    from backend.positions.settings import FopeConvertParams

    params = params_from_args(args, FopeConvertParams)
    FopeConvertParams.from_params(params)
    position_config(args.model)
    if Path(args.out).exists():
        raise FileExistsError(f"output folder {args.out} already exists; choose another or remove it first")
    spec = JobSpec("fope.convert", params=params, inputs={"model": str(Path(args.model).resolve()),
                                                          "out": str(Path(args.out).resolve())},
                   device=args.device, label="fope convert")
    return run_job(spec, args, summarize=lambda r: (
        f"FoPE added to {r['layers']} layers ({r['retained_frequencies']} retained frequencies, "
        f"{r['carrying_pairs']} carrying pairs per head)\nmodel: {r['out']}\nwarning: {r['warning']}"))


def _sample(args: argparse.Namespace) -> int:
    from backend.positions.corpora import sample_text
    from backend.workspace.atomic import atomic_write_text

    if Path(args.out).exists():
        raise FileExistsError(f"{args.out} already exists; choose another file")
    text = sample_text(args.name)
    atomic_write_text(args.out, text)
    print(f"wrote {len(text)} characters to {args.out}")
    return 0
