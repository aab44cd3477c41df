"""``python main.py equations fit DATA --library poly3 --out DIR [--json]``,
``python main.py equations discover DATA --out DIR [--proposer builtin|openai|hf]`` and
``python main.py equations system lorenz --noise 0.01 --out DATA.csv``."""
from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli.common import add_json_flag, run_job


def _fit_args(p: argparse.ArgumentParser) -> None:
    from backend.cli.params_args import add_params_arguments
    from backend.equations.settings import FitSettings

    p.add_argument("data", help="CSV (header, 't' column), NPZ ('x' or 'frames', 't' or 'dt') or a folder of frames")
    p.add_argument("--out", required=True, help="output folder (must not exist)")
    p.add_argument("--time-column", help="name of the time column (default: t/time)")
    p.add_argument("--sample-rate", type=float, help="samples per time unit when there is no time column")
    add_params_arguments(p, FitSettings, exclude=("library",), rename={"normalize_columns": "--normalize"})
    p.add_argument("--term", action="append", default=[], help="extra library term in sympy syntax (repeatable)")
    p.add_argument("--coords", choices=["none", "pca", "track", "autoencoder"], help="coordinates for frames")
    p.add_argument("--n-coords", type=int, default=2)
    p.add_argument("--device", default="auto")
    add_json_flag(p)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("equations", help="discover governing equations from time series (SINDy, proposer loop)",
                       description="Sparse regression of derivatives on candidate terms; built-in test systems.")
    es = p.add_subparsers(dest="equations_command", required=True, metavar="{fit,discover,system}")
    f = es.add_parser("fit", help="fit a sparse model to a data file")
    _fit_args(f)
    f.add_argument("--library", default="poly3", help="polyN, trigN or a sum (poly2+trig1)")
    f.set_defaults(func=_fit)
    d = es.add_parser("discover", help="run the propose -> fit -> score loop")
    _fit_args(d)
    d.add_argument("--library", default="poly1", help="starting library")
    d.add_argument("--rounds", type=int, default=4)
    d.add_argument("--proposer", default="builtin", choices=["builtin", "openai", "hf"])
    d.add_argument("--base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    d.add_argument("--model", help="model name (openai) or model folder (hf)")
    d.add_argument("--api-key", default="", help="bearer token for the endpoint, if it needs one")
    d.set_defaults(func=_discover)
    s = es.add_parser("system", help="simulate a built-in system to a data file")
    s.add_argument("system", choices=["lorenz", "vanderpol", "duffing", "pendulum", "lotka_volterra", "sir",
                                      "pendulum_video"])
    s.add_argument("--noise", type=float, default=0.0, help="Gaussian noise as a fraction of each state's std")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--t-end", type=float)
    s.add_argument("--dt", type=float)
    s.add_argument("--out", required=True, help="output .csv or .npz")
    add_json_flag(s)
    s.set_defaults(func=_system)


def _params(args: argparse.Namespace) -> dict:
    from backend.cli.params_args import params_from_args
    from backend.equations.settings import FitSettings

    params = {**params_from_args(args, FitSettings), "library": args.library, "custom_terms": args.term,
              "out": str(Path(args.out).resolve()), "n_coords": args.n_coords}
    FitSettings.from_job_params(params)  # a bad combination fails here, before a run is recorded
    for k in ("time_column", "sample_rate", "coords"):
        if getattr(args, k) is not None:
            params[k] = getattr(args, k)
    return params


def _check(args: argparse.Namespace) -> str:
    if not Path(args.data).exists():
        raise FileNotFoundError(f"{args.data}: no such file or folder")
    if Path(args.out).exists():
        raise FileExistsError(f"output folder {args.out} already exists; choose another or remove it first")
    return str(Path(args.data).resolve())


def _summary(result: dict) -> str:
    m = result.get("metrics", {})
    lines = list(result.get("equations", []))
    if "extrapolation_rel_l2" in m:
        lines.append(f"extrapolation rel. L2 {m['extrapolation_rel_l2']:.4g} over {m['horizon']:.4g}; "
                     f"valid for {m['valid_time']:.4g}")
    lines.append(f"output: {result.get('out')}")
    return "\n".join(lines)


def _fit(args: argparse.Namespace) -> int:
    from backend.jobs import JobSpec

    spec = JobSpec("equations.fit", params=_params(args), inputs={"data": _check(args)}, device=args.device,
                   label="equations fit")
    return run_job(spec, args, summarize=_summary)


def _discover(args: argparse.Namespace) -> int:
    from backend.jobs import JobSpec

    inputs = {"data": _check(args)}
    params = {**_params(args), "rounds": args.rounds}
    if args.proposer == "openai":
        if not args.base_url or not args.model:
            raise ValueError("--proposer openai needs --base-url and --model")
        params["proposer"] = {"kind": "openai", "base_url": args.base_url, "model": args.model, "api_key": args.api_key}
    elif args.proposer == "hf":
        if not args.model:
            raise ValueError("--proposer hf needs --model FOLDER")
        params["proposer"] = {"kind": "hf"}
        inputs["proposer_model"] = str(Path(args.model).resolve())
    spec = JobSpec("equations.discover", params=params, inputs=inputs, device=args.device, label="equations discover")
    return run_job(spec, args, summarize=_summary)


def _system(args: argparse.Namespace) -> int:
    from backend.jobs import JobSpec

    params = {"system": args.system, "noise": args.noise, "seed": args.seed, "out": str(Path(args.out).resolve())}
    if args.t_end:
        params["t_end"] = args.t_end
    if args.dt:
        params["dt"] = args.dt
    spec = JobSpec("equations.system", params=params, device="cpu", label=f"equations system {args.system}")
    return run_job(spec, args, summarize=lambda r: f"wrote {r['out']} {r['shape']}")
