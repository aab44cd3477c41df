"""``runs list`` and ``runs show``: the workspace's history from the command line."""
from __future__ import annotations

import argparse
import time

from backend.cli.common import add_json_flag, open_workspace, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list and inspect recorded runs", description="List and inspect recorded runs.")
    rs = p.add_subparsers(dest="runs_command", required=True, metavar="{list,show}")
    pl = rs.add_parser("list", help="list runs, newest first", description="List runs, newest first.")
    pl.add_argument("--kind", help="only runs of this job kind")
    pl.add_argument("--limit", type=int, default=50, help="at most this many runs (default 50)")
    add_json_flag(pl)
    pl.set_defaults(func=_list)
    ps = rs.add_parser("show", help="show one run", description="Show one run: spec, status, result, metrics.")
    ps.add_argument("run_id", metavar="ID", help="a run id or a unique prefix of one")
    add_json_flag(ps)
    ps.set_defaults(func=_show)


def _fmt_time(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def _list(args: argparse.Namespace) -> int:
    ws = open_workspace(args)
    runs = ws.list_runs(kind=args.kind, limit=args.limit)
    if args.json:
        print_json([r.to_dict() for r in runs])
        return 0
    if not runs:
        print(f"no runs in {ws.root}")
        return 0
    print(f"{'ID':<40} {'KIND':<22} {'STATUS':<12} {'CREATED':<19} DURATION")
    for r in runs:
        dur = f"{r.duration:.1f}s" if r.duration is not None else "-"
        print(f"{r.id:<40} {r.kind:<22} {r.status:<12} {_fmt_time(r.created):<19} {dur}")
    return 0


def _show(args: argparse.Namespace) -> int:
    ws = open_workspace(args)
    try:
        run = ws.get_run(args.run_id)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=__import__("sys").stderr)
        return 2
    data = run.to_dict()
    data["metrics"] = {k: [[s, v] for s, v in series] for k, series in ws.metrics(run.id).items()}
    if args.json:
        print_json(data)
        return 0
    print(f"run      {run.id}\nkind     {run.kind}\nstatus   {run.status}\ndevice   {run.device or '-'}")
    print(f"created  {_fmt_time(run.created)}\nstarted  {_fmt_time(run.started)}\nended    {_fmt_time(run.ended)}")
    print(f"folder   {run.run_dir}\nparams   {run.spec.params}\ninputs   {run.spec.inputs}")
    if run.error:
        print(f"error    {run.error}")
    if run.result is not None:
        import json

        print("result   " + json.dumps(run.result, indent=2, default=str).replace("\n", "\n         "))
    for name, series in data["metrics"].items():
        print(f"metric   {name}: {len(series)} points, last {series[-1][1]:.6g}")
    for name, path in run.artifacts.items():
        print(f"artifact {name}: {path}")
    return 0
