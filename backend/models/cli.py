"""``python main.py zoo build [--profile tiny|demo] [--seed N] [--force] [--json]`` and ``zoo status``."""
from __future__ import annotations

import argparse

from backend.cli.common import add_json_flag, print_json, run_job
from backend.cli.params_args import add_params_arguments, params_from_args
from backend.models.params import ZooBuildParams


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("zoo", help="the arithmetic demo zoo (tiny models trained here)",
                       description="Build or inspect the demo zoo: a base model, task fine-tunes, a policy, "
                                   "a process reward model and a generative verifier, with their data.")
    zs = p.add_subparsers(dest="zoo_command", required=True, metavar="{build,status}")
    b = zs.add_parser("build", help="build the zoo (demo: a few minutes on a CPU)")
    add_params_arguments(b, ZooBuildParams)
    b.add_argument("--root", help="build into this folder instead of <workspace>/zoo/<profile>")
    add_json_flag(b)
    b.set_defaults(func=_build)
    s = zs.add_parser("status", help="is the zoo built? (missing, partial or ready) and its figures")
    add_params_arguments(s, ZooBuildParams, only=("profile",))
    add_json_flag(s)
    s.set_defaults(func=_status)


def _summary(result: dict) -> str:
    from backend.models.zoo.report import format_figures

    return f"zoo built in {result.get('root')} ({result.get('build_seconds')} s)\n" + \
        format_figures(result.get("figures", {}))


def _build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.jobs import JobSpec

    inputs = {"root": str(Path(args.root).resolve())} if args.root else {}
    params = params_from_args(args, ZooBuildParams)
    p = ZooBuildParams.from_params(params)
    spec = JobSpec("zoo.build", params=params, inputs=inputs, device="cpu", label=f"build {p.profile} zoo")
    return run_job(spec, args, summarize=_summary)


def _status(args: argparse.Namespace) -> int:
    from backend.models.zoo import read_manifest, verify_zoo, zoo_root, zoo_status
    from backend.models.zoo.report import format_figures
    from backend.workspace import default_workspace_dir

    profile = ZooBuildParams.from_params(params_from_args(args, ZooBuildParams, exclude=("seed", "force"))).profile
    root = zoo_root(args.workspace or default_workspace_dir(), profile)
    state = zoo_status(root)
    problem = verify_zoo(root) if state != "missing" else None
    if problem and state == "ready":
        state = "partial"
    man = read_manifest(root) if state == "ready" else None
    if args.json:
        print_json({"root": str(root), "status": state, "problem": problem,
                    "models": sorted((man or {}).get("models", {})), "figures": (man or {}).get("figures")})
        return 0
    print(f"{profile} zoo: {state} ({root})")
    if problem:
        print(f"  {problem}")
    if man:
        print(f"  models: {', '.join(sorted(man['models']))}")
        print(format_figures(man.get("figures", {})))
    elif state != "ready":
        hint = "" if profile == "demo" else f" --profile {profile}"
        print(f"  build it with `python main.py zoo build{hint}`")
    return 0
