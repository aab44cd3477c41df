"""``python main.py sandbox run FILE.py [--timeout S] [--json]``: run a snippet in the sandbox.

A short, bounded query (at most ``--timeout`` seconds), so it runs directly rather than as a
recorded job. Exit code: 0 when the snippet finished normally, 1 otherwise.
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
    r.add_argument("--timeout", type=float, default=5.0, help="wall-clock limit in seconds (default 5)")
    r.add_argument("--memory-mb", type=int, default=512, help="address-space limit in MB (default 512)")
    r.add_argument("--max-output", type=int, default=65536, help="stdout+stderr cap in bytes (default 65536)")
    add_json_flag(r)
    r.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from backend.sandbox import run_python

    path = Path(args.file)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        code = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc})") from None
    if args.timeout <= 0:
        raise ValueError(f"--timeout must be positive, got {args.timeout}")
    res = run_python(code, timeout=args.timeout, memory_mb=args.memory_mb, max_output_bytes=args.max_output)
    if args.json:
        print_json({"file": str(path), **res.to_dict()})
    else:
        sys.stdout.write(res.stdout)
        if res.stderr:
            sys.stderr.write(res.stderr if res.stderr.endswith("\n") else res.stderr + "\n")
        print(f"[{res.status}] {res.reason} ({res.duration:.2f} s)", file=sys.stderr)
    return 0 if res.ok else 1
