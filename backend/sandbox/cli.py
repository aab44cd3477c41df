"""``python main.py sandbox run FILE.py [--timeout S] [--json]``: run a snippet in the sandbox.

A short, bounded query (at most ``--timeout`` seconds), so it runs directly rather than as a
recorded job. Exit code: 0 when the snippet finished normally, 1 otherwise, 2 for bad options or
when this machine cannot provide the sandbox (the line says what to enable; nothing was run).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backend.cli.common import add_json_flag, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sandbox", help="run untrusted Python in the isolated sandbox")
    ss = p.add_subparsers(dest="sandbox_command", required=True, metavar="{run}")
    r = ss.add_parser("run", help="run FILE.py with time, memory, output, file and network limits")
    r.add_argument("file", help="Python file to run (read, never modified)")
    r.add_argument("--timeout", type=str, default="5", help="wall-clock limit in seconds (default 5)")
    r.add_argument("--memory-mb", type=str, default="512", help="address-space limit in MB (default 512)")
    r.add_argument("--max-output", type=str, default="65536", help="stdout+stderr cap in bytes (default 65536)")
    add_json_flag(r)
    r.set_defaults(func=_run)


def _number(option: str, text: str, integer: bool) -> float:
    """A positive, finite number (a whole one where ``integer``), else ValueError naming the option:
    a negative or infinite limit must never reach the sandbox (it would disable the limit)."""
    from backend.sandbox.runner import _positive

    v = _positive(option, text, integer=integer, most=7 * 86400 if option == "--timeout" else 2.0 ** 40)
    return int(v) if integer else v


def _run(args: argparse.Namespace) -> int:
    from backend.sandbox import run_python

    path = Path(args.file)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        code = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc})") from None
    timeout = _number("--timeout", args.timeout, integer=False)
    memory = int(_number("--memory-mb", args.memory_mb, integer=True))
    max_output = int(_number("--max-output", args.max_output, integer=True))
    res = run_python(code, timeout=timeout, memory_mb=memory, max_output_bytes=max_output)
    if res.status == "unavailable":
        raise PermissionError(f"{path}: not run: {res.reason}")
    if args.json:
        print_json({"file": str(path), **res.to_dict()})
    else:
        sys.stdout.write(res.stdout)
        if res.stderr:
            sys.stderr.write(res.stderr if res.stderr.endswith("\n") else res.stderr + "\n")
        print(f"[{res.status}] {res.reason} ({res.duration:.2f} s)", file=sys.stderr)
    return 0 if res.ok else 1
