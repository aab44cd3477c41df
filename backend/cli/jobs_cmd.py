"""``jobs`` (list job kinds) and ``devices`` (what this machine can run on)."""
from __future__ import annotations

import argparse

from backend.cli.common import add_json_flag, print_json, run_job


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("jobs", help="list the job kinds this installation can run")
    add_json_flag(p)
    p.set_defaults(func=_jobs)
    d = sub.add_parser("devices", help="list the devices jobs can run on")
    add_json_flag(d)
    d.set_defaults(func=_devices)
    c = sub.add_parser("demo", help="run the built-in counting job (checks the runner)")
    c.add_argument("--steps", type=int, default=10)
    c.add_argument("--delay", type=float, default=0.05)
    c.add_argument("--device", default="cpu")
    add_json_flag(c)
    c.set_defaults(func=_demo)


def _jobs(args: argparse.Namespace) -> int:
    from backend.jobs import list_jobs

    jobs = list_jobs()
    if args.json:
        print_json([{"kind": j.kind, "title": j.title, "module": j.module} for j in jobs])
    else:
        for j in jobs:
            print(f"{j.kind:<28} {j.title}")
    return 0


def _devices(args: argparse.Namespace) -> int:
    from backend.devices import available_devices, resolve_device

    devs = available_devices()
    if args.json:
        print_json({"available": devs, "auto": resolve_device("auto")})
    else:
        print("\n".join(devs))
        print(f"auto -> {resolve_device('auto')}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from backend.jobs import JobSpec

    spec = JobSpec("demo.count", {"steps": args.steps, "delay": args.delay}, device=args.device, label="demo")
    return run_job(spec, args, summarize=lambda r: f"counted {r['steps']} steps, total {r['total']}")
