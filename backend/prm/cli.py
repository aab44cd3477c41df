"""``python main.py prm score|processbench``: process reward models from the command line.

    python main.py prm score --prm DIR --input IN.jsonl --out OUT.jsonl
    python main.py prm processbench --prm DIR --data FILE.jsonl [--threshold T] [--json]

``--prm`` is a model folder or ``zoo:NAME``. Every setting option is generated from
``backend.prm.params`` (``PRMScoreParams``/``ProcessBenchParams``) and each group in ``_GROUPS``
(the engine of a generative PRM's critiques; a new group is one more line there; ``_SHARDED``
holds the executor group of ``processbench``). The engine's API key never enters the JobSpec.
Malformed input lines are reported (file:line) on stderr and in the JSON result; the other lines
are still scored.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli.common import add_json_flag, run_job
from backend.cli.params_args import (
    SettingsGroups,
    add_group_arguments,
    add_params_arguments,
    params_from_args,
    params_from_groups,
)
from backend.jobs import JobSpec
from backend.prm.params import PRMScoreParams, ProcessBenchParams, parse_job_params


# settings groups besides the command's own class: (class, argument-group title, fields left out)
_GROUPS: SettingsGroups = (
    ("backend.generation.engines.params:EngineParams", "generation engine of a generative PRM's critiques", ()),
)
# groups of the sharded command only (prm processbench)
_SHARDED: SettingsGroups = (
    ("backend.scale.params:ExecutorParams", "executor (where shards run; docs/scale.md)", ()),
)


def _common(p: argparse.ArgumentParser, cls: type, groups: tuple = _GROUPS) -> None:
    p.add_argument("--prm", required=True, help="PRM folder (with benchtop_prm.json) or zoo:NAME")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    add_params_arguments(p, cls)
    p.set_defaults(groups=groups)
    add_group_arguments(p, groups)
    add_json_flag(p)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prm", help="process reward models: score steps, ProcessBench")
    ps = p.add_subparsers(dest="prm_command", required=True, metavar="{score,processbench}")
    s = ps.add_parser("score", help="score every step of each solution in a JSONL file")
    s.add_argument("--input", required=True, help="JSONL: problem + steps (list) or solution (text)")
    s.add_argument("--out", required=True, help="output JSONL (written atomically)")
    _common(s, PRMScoreParams)
    s.set_defaults(func=_score, settings=PRMScoreParams)
    b = ps.add_parser("processbench", help="earliest-error F1 per subset and averaged, threshold sweep")
    b.add_argument("--data", required=True, help="ProcessBench JSONL (or JSON array)")
    _common(b, ProcessBenchParams, _GROUPS + _SHARDED)
    b.set_defaults(func=_processbench, settings=ProcessBenchParams)


def _params(args: argparse.Namespace) -> dict:
    """The options the user gave (every group, flat as the job reads them) and the PRM, validated
    here so a bad value fails before a run is recorded."""
    from backend.generation.engines.params import ENGINE_KEYS, engine_spec_params
    from backend.scale.options import check_executor

    params = params_from_args(args, args.settings)
    params.update(params_from_groups(args, args.groups))
    params["prm"] = args.prm
    # the engine group's API key leaves the spec here (it is recorded): moved into the environment
    params.update(engine_spec_params({k: params.pop(k) for k in ENGINE_KEYS if k in params}, args.device))
    sharded = args.groups != _GROUPS          # prm processbench
    _settings, _engine, ex, _inputs = parse_job_params(args.settings, params, sharded=sharded)
    check_executor(ex)
    return params


def _score(args: argparse.Namespace) -> int:
    inp, out = Path(args.input), Path(args.out)
    if not inp.is_file():
        raise FileNotFoundError(f"{inp}: no such file")
    if out.resolve() == inp.resolve():
        raise ValueError(f"--out {out} is the input file; choose another path (inputs are never modified)")
    params = {**_params(args), "out": str(out.resolve())}
    spec = JobSpec(kind="prm.score", params=params, inputs={"input": str(inp.resolve())}, device=args.device,
                   label=f"prm score {inp.name}")
    return run_job(spec, args, summarize=_score_summary)


def _score_summary(r: dict) -> str:
    lines = [f"scored {r['n']} solutions with {', '.join(r['prms'])} -> {r['out']}"]
    lines += [f"skipped {e}" for e in r.get("errors", [])]
    return "\n".join(lines)


def _processbench(args: argparse.Namespace) -> int:
    data = args.data
    if not str(data).startswith("zoo:"):
        if not Path(data).is_file():
            raise FileNotFoundError(f"{data}: no such file")
        data = str(Path(data).resolve())
    params = _params(args)
    spec = JobSpec(kind="prm.processbench", params=params, inputs={"data": data}, device=args.device,
                   label=f"ProcessBench {Path(str(data)).name}")
    return run_job(spec, args, summarize=_pb_summary)


def _fmt(x: float | None) -> str:
    return "  n/a" if x is None else f"{x:5.1f}"


def _pb_summary(r: dict) -> str:
    lines = [f"ProcessBench, {r['prm']} at threshold {r['threshold']:g}",
             f"{'subset':<16}{'error acc':>10}{'correct acc':>12}{'F1':>7}{'n':>6}"]
    for name, v in r["subsets"].items():
        lines.append(f"{name:<16}{_fmt(v['acc_error']):>10}{_fmt(v['acc_correct']):>12}{_fmt(v['f1']):>7}"
                     f"{v['n_error'] + v['n_correct']:>6}")
    lines.append(f"{'average F1':<16}{'':>22}{_fmt(r['average_f1']):>7}")
    sw = r["sweep"]
    if sw.get("best_threshold") is not None and sw.get("best_average_f1") is not None:
        lines.append(f"best threshold {sw['best_threshold']:g} -> average F1 {sw['best_average_f1']:.1f}")
    lines += [f"skipped {e}" for e in r.get("errors", [])]
    return "\n".join(lines)
