"""``python main.py replay summarize RUNDIR [--json]`` and ``replay export RUNDIR --html OUT``.

Both read the run folder directly (no job runner): reading is fast and the export of even a
large run takes seconds. The run folder is never written to.
"""
from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    from backend.agents.params import ReplayExportParams
    from backend.cli.common import add_json_flag
    from backend.cli.params_args import add_params_arguments

    p = sub.add_parser("replay", help="summarize or export computer-using-agent runs (ScienceBoard, OSWorld)",
                       description="Read ScienceBoard or OSWorld run folders: scores per task, domain and "
                                   "difficulty, and a self-contained HTML report.")
    rs = p.add_subparsers(dest="replay_command", required=True, metavar="{summarize,export}")
    s = rs.add_parser("summarize", help="success rates (ScienceBoard overall, solved/total, by domain/difficulty)")
    s.add_argument("rundir", metavar="RUNDIR", nargs="+", help="run folder(s); several are also compared")
    s.add_argument("--tasks", metavar="DIR", help="task JSON folder (default: a 'tasks' folder in or beside RUNDIR)")
    add_json_flag(s)
    s.set_defaults(func=_summarize)
    e = rs.add_parser("export", help="write a self-contained HTML report of a run")
    e.add_argument("rundir", metavar="RUNDIR")
    e.add_argument("--html", required=True, metavar="OUT", help="report file to write")
    e.add_argument("--tasks", metavar="DIR", help="task JSON folder")
    add_params_arguments(e, ReplayExportParams)
    e.set_defaults(func=_export)


def _summarize(args: argparse.Namespace) -> int:
    from backend.agents.aggregate import aggregate, compare_runs, pct, summary_text
    from backend.agents.reader import open_run
    from backend.cli.common import print_json

    runs = [open_run(d, args.tasks) for d in args.rundir]
    if args.json:
        print_json(aggregate(runs[0]) if len(runs) == 1 else compare_runs(runs))
        return 0
    for r in runs:
        print(summary_text(aggregate(r)))
        print()
    if len(runs) > 1:
        cmp = compare_runs(runs)
        print("across runs:")
        for metric, v in cmp["across"].items():
            spread = "" if v["std"] is None else f" ± {pct(v['std'])}"
            print(f"  {metric:<14} mean {pct(v['mean'])}{spread}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from backend.agents.params import ReplayExportParams
    from backend.agents.reader import open_run
    from backend.agents.report import export_html
    from backend.cli.params_args import params_from_args

    p = ReplayExportParams.from_params(params_from_args(args, ReplayExportParams))
    run = open_run(args.rundir, args.tasks)
    out = export_html(run, args.html, images=p.images)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(run.tasks)} tasks)", file=sys.stderr)
    print(out)
    return 0
