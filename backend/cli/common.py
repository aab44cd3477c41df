"""Helpers every command uses: open the workspace, run a job with progress, print results."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

from backend.jobs import JobEvent, JobSpec, Runner
from backend.jobs import events as ev


def model_arg(text: str, check: bool = False) -> str:
    """A ``zoo:NAME`` as given, or a model folder made absolute (jobs may run elsewhere).
    ``check`` resolves it now, so a typo fails before a run is recorded."""
    value = text if text.startswith("zoo:") else str(Path(text).expanduser().resolve())
    if check:
        from backend.models.zoo import resolve_model

        resolve_model(value)
    return value


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()


def open_workspace(args: argparse.Namespace):
    from backend.workspace import Workspace, default_workspace_dir

    ws = Workspace(args.workspace or default_workspace_dir())
    if ws.recovery_message:
        print(f"warning: {ws.recovery_message}", file=sys.stderr)
    return ws


class _ProgressPrinter:
    """Prints a job's progress and log lines to stderr, at most a few lines per second."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._last = 0.0

    def __call__(self, event: JobEvent) -> None:
        if self.quiet:
            return
        if event.type == ev.PROGRESS:
            now = time.monotonic()
            frac = event.data.get("fraction")
            if now - self._last < 0.5 and (frac or 0) < 1.0:
                return
            self._last = now
            pct = "  ?%" if frac is None else f"{100 * frac:3.0f}%"
            print(f"[{pct}] {event.data.get('message', '')}", file=sys.stderr, flush=True)
        elif event.type == ev.LOG:
            print(event.data.get("line", ""), file=sys.stderr, flush=True)
        elif event.type == ev.STARTED:
            print(f"run {event.run_id} started on {event.data.get('device')}", file=sys.stderr, flush=True)


def run_job(
    spec: JobSpec,
    args: argparse.Namespace,
    summarize: Callable[[dict], str] | None = None,
) -> int:
    """Run ``spec`` in the workspace's runner, printing progress to stderr.

    With ``--json`` the result (with run id and status) goes to stdout as JSON; otherwise
    ``summarize(result)`` (or the JSON) is printed. Exit code: 0 succeeded, 1 failed, 130 cancelled.
    Ctrl+C asks the job to stop, like the GUI's cancel button.
    """
    ws = open_workspace(args)
    runner = Runner(ws)
    as_json = getattr(args, "json", False)
    runner.subscribe(_ProgressPrinter(quiet=getattr(args, "quiet", False)))
    handle = runner.submit(spec)
    try:
        while not handle.done:
            handle.wait(0.2)
    except KeyboardInterrupt:
        print("cancelling…", file=sys.stderr)
        handle.cancel()
        handle.wait()
    status = handle.status
    if as_json:
        print_json({"run_id": handle.run_id, "status": status, "result": handle.result, "error": handle.error,
                    "run_dir": str(handle.run_dir)})
    elif status == "succeeded":
        print(summarize(handle.result or {}) if summarize else json.dumps(handle.result, indent=2, default=str))
    if status == "failed" and not as_json:
        print(f"error: {handle.error}", file=sys.stderr)
    elif status == "cancelled" and not as_json:
        print("cancelled", file=sys.stderr)
    ws.close()
    return {"succeeded": 0, "cancelled": 130}.get(status, 1)
