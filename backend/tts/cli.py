"""``python main.py tts run|sweep``: test-time scaling from the command line.

    python main.py tts run   --policy DIR --prm DIR --data FILE --strategy beam --n 16 --out OUT
    python main.py tts sweep --policy DIR --prm DIR --data FILE --ns 1,2,4,8,16 --out OUT --json

Every setting option is generated from ``backend.tts.params`` (``TTSRunParams``/``TTSSweepParams``)
and each group in ``_GROUPS`` (the prompt settings, the executor, the generation engine); a new
group is one more line there. The engine's API key never enters the JobSpec (``engine_spec_params``).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from backend.cli.common import add_json_flag, run_job
from backend.cli.params_args import (
    SettingsGroups,
    add_group_arguments,
    add_params_arguments,
    params_from_args,
    params_from_groups,
)

# settings groups besides the command's own class: (class, argument-group title, fields left out)
_GROUPS: SettingsGroups = (
    ("backend.generation.prompting:PromptParams", "prompt (chat template, system prompt, steps)", ()),
    ("backend.scale.params:ExecutorParams", "executor (where shards run; docs/scale.md)", ()),
    ("backend.generation.engines.params:EngineParams", "generation engine (hf, vllm, an OpenAI-compatible server)",
     ()),
)
_RENAME = {"share_prefix": "--prefix-sharing"}   # the historical --no-prefix-sharing


def _common(p: argparse.ArgumentParser, cls: type, exclude: tuple[str, ...] = ()) -> None:

    p.add_argument("--policy", required=True, help="policy model folder or zoo:NAME")
    p.add_argument("--prm", help="PRM folder, zoo:NAME or reference:arithmetic (needed by bon, "
                                 "weighted_bon, beam, dvts)")
    p.add_argument("--data", required=True, help="problems: .jsonl (or .json array) with problem, answer, level")
    p.add_argument("--out", required=True, help="output folder (must not exist)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    add_params_arguments(p, cls, exclude=exclude, rename=_RENAME)
    add_group_arguments(p, _GROUPS)
    add_json_flag(p)


def register(sub: argparse._SubParsersAction) -> None:
    from backend.tts.params import TTSRunParams, TTSSweepParams

    p = sub.add_parser("tts", help="test-time scaling: Best-of-N, beam search, DVTS, majority vote",
                       description="Spend inference compute with a policy and a process reward model.")
    ts = p.add_subparsers(dest="tts_command", required=True, metavar="{run,sweep}")
    r = ts.add_parser("run", help="one strategy at one budget N")
    _common(r, TTSRunParams)
    r.set_defaults(func=_run, settings=TTSRunParams)
    s = ts.add_parser("sweep", help="strategies x budgets, curves and the compute-optimal table")
    _common(s, TTSSweepParams, exclude=("n",))   # a sweep's budgets are --ns
    s.set_defaults(func=_sweep, settings=TTSSweepParams)


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


def _check_prm(strategies: tuple[str, ...], args: argparse.Namespace) -> None:
    from backend.tts.types import NEEDS_PRM

    needs = [s for s in strategies if s in NEEDS_PRM]
    if needs and not args.prm:
        raise ValueError(f"strategy {needs[0]} needs a PRM: pass --prm DIR, zoo:NAME or reference:arithmetic")


def _params(args: argparse.Namespace) -> tuple[dict, Any]:
    """The options the user gave (every group, flat as the job reads them) and the command's
    settings, validated here so a bad value fails before a run is recorded."""
    from backend.scale.options import check_executor
    from backend.tts.params import parse_job_params

    from backend.generation.engines.params import ENGINE_KEYS, engine_spec_params

    params = params_from_args(args, args.settings)
    params.update(params_from_groups(args, _GROUPS))
    # the engine group's API key leaves the spec here (it is recorded): moved into the environment
    params.update(engine_spec_params({k: params.pop(k) for k in ENGINE_KEYS if k in params}, args.device))
    settings, _prompt, ex, _engine = parse_job_params(args.settings, params)
    check_executor(ex)
    return params, settings


def _fmt(result: dict) -> str:
    acc = result.get("accuracy")
    acc_s = "n/a" if acc is None else f"{acc:.3f}"
    return (f"{result['strategy']} N={result['n']}: accuracy {acc_s} on {result['problems']} problems; "
            f"{result['tokens']:.1f} tokens and {result['prm_calls']:.1f} PRM calls per problem\n"
            f"output: {result['out']}")


def _run(args: argparse.Namespace) -> int:
    from backend.jobs import JobSpec

    params, settings = _params(args)
    _check_prm((settings.strategy,), args)
    spec = JobSpec("tts.run", params=params, inputs=_inputs(args), device=args.device,
                   label=f"tts {settings.strategy}")
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

    params, settings = _params(args)
    _check_prm(settings.strategies, args)
    spec = JobSpec("tts.sweep", params=params, inputs=_inputs(args), device=args.device, label="tts sweep")
    return run_job(spec, args, summarize=_sweep_fmt)
