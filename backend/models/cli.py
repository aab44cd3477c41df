"""``python main.py zoo build [--profile tiny|demo] [--seed N] [--force] [--json]`` and ``zoo status``."""
from __future__ import annotations

import argparse

from backend.cli.common import add_json_flag, print_json, run_job


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("zoo", help="the arithmetic demo zoo (tiny models trained here)",
                       description="Build or inspect the demo zoo: a base model, task fine-tunes, a policy, "
                                   "a process reward model and a generative verifier, with their data.")
    zs = p.add_subparsers(dest="zoo_command", required=True, metavar="{build,status}")
    b = zs.add_parser("build", help="build the zoo (demo: a few minutes on a CPU)")
    b.add_argument("--profile", choices=["tiny", "demo"], default="demo", help="tiny (tests) or demo (default)")
    b.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    b.add_argument("--force", action="store_true", help="rebuild even when a complete zoo exists")
    b.add_argument("--root", help="build into this folder instead of <workspace>/zoo/<profile>")
    add_json_flag(b)
    b.set_defaults(func=_build)
    s = zs.add_parser("status", help="is the zoo built? (missing, partial or ready) and its figures")
    s.add_argument("--profile", choices=["tiny", "demo"], default="demo")
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
    spec = JobSpec("zoo.build", params={"profile": args.profile, "seed": args.seed, "force": args.force},
                   inputs=inputs, device="cpu", label=f"build {args.profile} zoo")
    return run_job(spec, args, summarize=_summary)


def _status(args: argparse.Namespace) -> int:
    from backend.models.zoo import read_manifest, verify_zoo, zoo_root, zoo_status
    from backend.models.zoo.report import format_figures
    from backend.workspace import default_workspace_dir

    root = zoo_root(args.workspace or default_workspace_dir(), args.profile)
    state = zoo_status(root)
    problem = verify_zoo(root) if state != "missing" else None
    if problem and state == "ready":
        state = "partial"
    man = read_manifest(root) if state == "ready" else None
    if args.json:
        print_json({"root": str(root), "status": state, "problem": problem,
                    "models": sorted((man or {}).get("models", {})), "figures": (man or {}).get("figures")})
        return 0
    print(f"{args.profile} zoo: {state} ({root})")
    if problem:
        print(f"  {problem}")
    if man:
        print(f"  models: {', '.join(sorted(man['models']))}")
        print(format_figures(man.get("figures", {})))
    elif state != "ready":
        hint = "" if args.profile == "demo" else f" --profile {args.profile}"
        print(f"  build it with `python main.py zoo build{hint}`")
    return 0
