"""``python main.py tts run|sweep``: test-time scaling from the command line.

    python main.py tts run   --policy DIR --prm DIR --data FILE --strategy beam --n 16 --out OUT
    python main.py tts sweep --policy DIR --prm DIR --data FILE --ns 1,2,4,8,16 --out OUT --json
"""
from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli.common import add_json_flag, run_job

_STRATS = ("greedy", "majority", "bon", "weighted_bon", "beam", "dvts")
_OPTIONAL = {
    "beam_width": (int, "beam width M: expansions per kept beam (beam), subtree width (DVTS)"),
    "max_steps": (int, "most steps of a tree search"),
    "temperature": (float, "sampling temperature"),
    "top_p": (float, "nucleus sampling mass"),
    "max_tokens": (int, "most tokens of a whole answer (default: 2048 real models, 96 demo zoo)"),
    "step_tokens": (int, "most tokens of one step in tree search (default: 512 real models, 32 demo zoo)"),
    "agg": (str, "step-score aggregation: last, min, prod, avg"),
    "seed": (int, "random seed"),
    "batch_size": (int, "rows per policy forward batch"),
    "limit": (int, "use only the first K problems"),
}


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", required=True, help="policy model folder or zoo:NAME")
    p.add_argument("--prm", help="PRM folder, zoo:NAME or reference:arithmetic (needed by bon, "
                                 "weighted_bon, beam, dvts)")
    p.add_argument("--data", required=True, help="problems: .jsonl (or .json array) with problem, answer, level")
    p.add_argument("--out", required=True, help="output folder (must not exist)")
    p.add_argument("--prm-preset", help="input format of a PRM folder without benchtop_prm.json "
                                        "(qwen2.5-math-prm, math-shepherd, genprm, zoo)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--dtype", default="auto", help="auto (bf16 on CUDA, else fp32), float32, bfloat16, float16")
    p.add_argument("--no-prefix-sharing", action="store_true", help="prefill every row separately")
    for name, (typ, help_) in _OPTIONAL.items():
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=typ, help=help_)
    from backend.cli.params_args import add_params_arguments
    from backend.generation.prompting import PromptParams

    add_params_arguments(p.add_argument_group("prompt (chat template, system prompt, steps)"), PromptParams)
    from backend.generation.engines.params import EngineParams

    add_params_arguments(p.add_argument_group("generation engine (hf, vllm, an OpenAI-compatible server)"),
                         EngineParams)
    add_json_flag(p)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tts", help="test-time scaling: Best-of-N, beam search, DVTS, majority vote",
                       description="Spend inference compute with a policy and a process reward model.")
    ts = p.add_subparsers(dest="tts_command", required=True, metavar="{run,sweep}")
    r = ts.add_parser("run", help="one strategy at one budget N")
    r.add_argument("--strategy", default="beam", choices=_STRATS)
    r.add_argument("--n", type=int, default=4, help="budget: number of samples / beams")
    _common(r)
    r.set_defaults(func=_run)
    s = ts.add_parser("sweep", help="strategies x budgets, curves and the compute-optimal table")
    s.add_argument("--strategies", default=",".join(_STRATS), help="comma-separated strategies")
    s.add_argument("--ns", type=_int_list, default=[1, 2, 4, 8, 16], help="budgets, e.g. 1,2,4,8,16")
    s.add_argument("--thresholds", default="0.1,0.5", help="Pass@1 bin edges (hard < a <= medium < b <= easy)")
    _common(s)
    s.set_defaults(func=_sweep)


def _inputs(args: argparse.Namespace) -> dict:
    def path(x: str) -> str:
        return x if x.startswith(("zoo:", "reference:")) else str(Path(x).resolve())

    inputs = {"policy": path(args.policy), "data": str(Path(args.data).resolve()), "out": str(Path(args.out).resolve())}
    if args.prm:
        inputs["prm"] = path(args.prm)
    if Path(inputs["out"]).exists():
        raise FileExistsError(f"output folder {inputs['out']} already exists; choose another or remove it first")
    from backend.tts.data import load_problems  # fail fast on a bad file, before loading any model

    load_problems(inputs["data"])
    return inputs


def _check_prm(strategies: list[str], args: argparse.Namespace) -> None:
    needs = [s for s in strategies if s in ("bon", "weighted_bon", "beam", "dvts")]
    if needs and not args.prm:
        raise ValueError(f"strategy {needs[0]} needs a PRM: pass --prm DIR, zoo:NAME or reference:arithmetic")


def _params(args: argparse.Namespace) -> dict:
    from backend.cli.params_args import params_from_args
    from backend.generation.prompting import PromptParams

    params = {k: getattr(args, k) for k in _OPTIONAL if getattr(args, k) is not None}
    params.update(params_from_args(args, PromptParams))
    PromptParams.from_params(params_from_args(args, PromptParams))   # a bad template fails before a run
    from backend.generation.engines.params import EngineParams, engine_spec_params

    params.update(engine_spec_params(params_from_args(args, EngineParams), args.device))
    params["dtype"] = args.dtype
    if args.prm_preset:
        params["prm_preset"] = args.prm_preset
    if args.no_prefix_sharing:
        params["share_prefix"] = False
    return params


def _fmt(result: dict) -> str:
    acc = result.get("accuracy")
    acc_s = "n/a" if acc is None else f"{acc:.3f}"
    return (f"{result['strategy']} N={result['n']}: accuracy {acc_s} on {result['problems']} problems; "
            f"{result['tokens']:.1f} tokens and {result['prm_calls']:.1f} PRM calls per problem\n"
            f"output: {result['out']}")


def _run(args: argparse.Namespace) -> int:
    from backend.jobs import JobSpec

    _check_prm([args.strategy], args)
    params = {**_params(args), "strategy": args.strategy, "n": args.n}
    spec = JobSpec("tts.run", params=params, inputs=_inputs(args), device=args.device, label=f"tts {args.strategy}")
    return run_job(spec, args, summarize=_fmt)


def _sweep_fmt(result: dict) -> str:
    lines = [f"{'strategy':<13}" + "".join(f"N={n:<7}" for n in result["ns"])]
    for s, by_n in result["runs"].items():
        cells = [by_n.get(str(n), {}).get("accuracy") for n in result["ns"]]
        lines.append(f"{s:<13}" + "".join("-        " if c is None else f"{c:<9.3f}" for c in cells))
    lines.append("compute-optimal (bin, N -> strategy, accuracy):")
    for row in result["compute_optimal"]:
        lines.append(f"  {row['bin']:<22} N={row['n']:<4} {row['strategy']:<13} {row['accuracy']:.3f}")
    lines.append(f"output: {result['out']}")
    return "\n".join(lines)


def _sweep(args: argparse.Namespace) -> int:
    from backend.jobs import JobSpec

    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    bad = [s for s in strategies if s not in _STRATS]
    if bad:
        raise ValueError(f"unknown strategy {bad[0]!r}; known: {', '.join(_STRATS)}")
    _check_prm(strategies, args)
    try:
        thresholds = [float(x) for x in args.thresholds.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--thresholds: expected comma-separated numbers, got {args.thresholds!r}") from None
    params = {**_params(args), "strategies": strategies, "ns": args.ns, "thresholds": thresholds}
    spec = JobSpec("tts.sweep", params=params, inputs=_inputs(args), device=args.device, label="tts sweep")
    return run_job(spec, args, summarize=_sweep_fmt)
