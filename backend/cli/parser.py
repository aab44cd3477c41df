"""Builds the argparse tree from the built-in commands and every ``backend/<pkg>/cli.py``."""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path


def _command_modules() -> list[str]:
    import backend

    mods = ["backend.cli.runs", "backend.cli.jobs_cmd"]
    for info in sorted(pkgutil.iter_modules(backend.__path__), key=lambda i: i.name):
        if info.ispkg and info.name != "cli" and importlib.util.find_spec(f"backend.{info.name}.cli") is not None:
            mods.append(f"backend.{info.name}.cli")
    return mods


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python main.py",
        description="Benchtop: run, watch and compare recent ML methods. With no command, opens the GUI.",
    )
    parser.add_argument("--workspace", metavar="DIR", help="workspace folder (default: your user data folder)")
    parser.add_argument("--self-test", action="store_true", help="build the window offscreen, run one job, exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules():
        importlib.import_module(mod).register(sub)
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    from backend.models.zoo.store import job_workspace

    workspace = Path(args.workspace).expanduser() if getattr(args, "workspace", None) else None
    try:
        with job_workspace(workspace):  # the command's own checks of zoo:NAME look in --workspace
            return int(func(args) or 0)
    except (FileNotFoundError, FileExistsError, ValueError, KeyError, PermissionError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {msg}", file=sys.stderr)
        return 2
