"""Benchtop's entry point.

``python main.py``                     opens the GUI
``python main.py [--workspace DIR] COMMAND ...``   runs a job headless (``--help`` lists commands)
``python main.py --self-test``         builds the window offscreen, runs one job, exits non-zero on error

Nothing heavy is imported here: torch and transformers load inside the jobs that need them, so
the window appears fast.
"""
from __future__ import annotations

import sys


def _wants_gui(argv: list[str]) -> bool:
    """True when argv holds no command: only ``--workspace DIR`` (or nothing)."""
    rest = list(argv)
    if rest[:1] == ["--workspace"] and len(rest) >= 2:
        rest = rest[2:]
    rest = [a for a in rest if not a.startswith("--workspace=")]
    return not rest


def _workspace_arg(argv: list[str]) -> str | None:
    for i, a in enumerate(argv):
        if a == "--workspace" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--workspace="):
            return a.split("=", 1)[1]
    return None


_PY_FLAGS = {"-I", "-S", "-B", "-E", "-s", "-u"}


def _as_python(argv: list[str]) -> int | None:
    """In the packaged app there is no ``python``: the launcher itself runs ``[flags] -c CODE ARGS``
    (how the sandbox starts its child interpreters). Returns None when argv is not such a call."""
    i = 0
    while i < len(argv) and argv[i] in _PY_FLAGS:
        i += 1
    if i >= len(argv) - 1 or argv[i] != "-c":
        return None
    code, sys.argv = argv[i + 1], ["-c", *argv[i + 2:]]
    exec(compile(code, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})  # noqa: S102
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if getattr(sys, "frozen", False):
        import multiprocessing

        multiprocessing.freeze_support()  # isolated jobs start the bundle as their interpreter
        ran = _as_python(argv)
        if ran is not None:
            return ran
    if "--self-test" in argv:
        from app.self_test import run_self_test

        return run_self_test(workspace=_workspace_arg(argv), fail="--self-test-fail" in argv)
    if _wants_gui(argv):
        from app.application import run_gui

        return run_gui(workspace=_workspace_arg(argv))
    from backend.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
