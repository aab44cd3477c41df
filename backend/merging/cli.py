"""``python main.py merge CONFIG.yml --out DIR``, ``python main.py tswitch BASE FT... --drop 0.6
--out DIR``, ``python main.py merge-eval MODEL --tasks ...`` and ``python main.py merge-study BASE
FT... --method ties`` (the merging panel's Run; each with ``--json``)."""
from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli.common import add_json_flag, model_arg, run_job
from backend.cli.params_args import add_params_arguments, params_from_args
from backend.merging.params import MergeEvalParams, MergeRunParams, MergeStudyParams, TSwitchParams
from backend.merging.registry import NAMES


def _task_name(model: str) -> str:
    from backend.models.zoo import finetune_task

    return finetune_task(model) or Path(model[4:] if model.startswith("zoo:") else model).name


def _finetunes(models: list[str]) -> dict[str, str]:
    """{task: model} of the fine-tunes named on the command line (each checked now)."""
    fts: dict[str, str] = {}
    for f in models:
        name = _task_name(f)
        if name in fts:
            raise ValueError(f"two fine-tunes map to task name {name!r}; give folders distinct names")
        fts[name] = model_arg(f, check=True)
    return fts


def register(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("merge", help="merge models from a mergekit-style YAML config",
                       description=f"Run a static merge ({', '.join(NAMES)}) described by a mergekit YAML "
                                   "config; models are folders or zoo:NAME.")
    m.add_argument("config", help="mergekit-style YAML file")
    m.add_argument("--out", required=True, help="model folder to create (must not exist)")
    add_params_arguments(m, MergeRunParams)
    add_json_flag(m)
    m.set_defaults(func=_merge)
    t = sub.add_parser("tswitch", help="binarize task vectors into T-Switch switches (packed), or apply them",
                       description="Write packed T-Switch switches (mask, signs, knob) of each FT against BASE; "
                                   "`tswitch apply SWITCHES --base BASE --tasks t1,t2[=w] --out DIR` builds a "
                                   "model from switches (in the base's dtype).")
    t.add_argument("base", help="base model folder or zoo:NAME (or the word apply)")
    t.add_argument("ft", nargs="+", help="fine-tuned model folders or zoo:NAME (task = folder name); with apply: "
                                         "the switches folder")
    t.add_argument("--base", dest="apply_base", help="apply: base model folder or zoo:NAME")
    t.add_argument("--tasks", dest="apply_tasks", help="apply: comma-separated tasks, each optionally =weight "
                                                       "(default weight 1)")
    add_params_arguments(t, TSwitchParams)
    t.add_argument("--out", required=True, help="folder to create (must not exist)")
    add_json_flag(t)
    t.set_defaults(func=_tswitch)
    e = sub.add_parser("merge-eval", help="per-task exact-match accuracy of a model",
                       description="Greedy exact match on prompt/answer JSONL sets; a task name that is not a "
                                   "file means the demo zoo's task_<name>_eval.jsonl.")
    e.add_argument("model", help="model folder or zoo:NAME")
    add_params_arguments(e, MergeEvalParams, required=("tasks",))
    e.add_argument("--device", default="auto")
    from backend.generation.prompting import PromptParams

    add_params_arguments(e.add_argument_group("prompt"), PromptParams, exclude=("delimiter",))
    from backend.scale.options import add_executor_arguments

    add_executor_arguments(e)
    add_json_flag(e)
    e.set_defaults(func=_eval)
    s = sub.add_parser("merge-study", help="merge (or T-Switch) fine-tunes and compare per-task accuracy",
                       description="The merging panel's Run: merge each FT's task vector over BASE with one "
                                   "method (or build T-Switch switches), then evaluate the base, every fine-tune "
                                   "and the result on each task's eval set (the zoo's task_<t>_eval.jsonl beside "
                                   "a zoo fine-tune, or --eval TASK=FILE); per-layer kept share and sign "
                                   "conflicts go into the result.")
    s.add_argument("base", help="base model folder or zoo:NAME")
    s.add_argument("ft", nargs="+", help="fine-tuned model folders or zoo:NAME (task = folder name)")
    add_params_arguments(s, MergeStudyParams, rename={"lam": "--lambda"})
    s.add_argument("--eval", dest="evals", action="append", default=[], metavar="TASK=FILE",
                   help="a prompt/answer JSONL for TASK (repeatable; also adds tasks without a fine-tune)")
    s.add_argument("--out", help="folder for the merged model or switches (default: inside the run folder; "
                                 "must not exist)")
    s.add_argument("--device", default="auto")
    add_executor_arguments(s)
    add_json_flag(s)
    s.set_defaults(func=_study)


def _merge(args: argparse.Namespace) -> int:
    import yaml

    from backend.jobs import JobSpec
    from backend.merging.config import load_config

    path = Path(args.config).expanduser().resolve()
    cfg = load_config(path)  # a bad config fails here, before a run is recorded
    out = Path(args.out).expanduser().resolve()
    if out.exists():
        raise FileExistsError(f"output folder {out} already exists; choose another or remove it first")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in raw["models"]:  # relative model paths are relative to the config file
        if isinstance(entry, dict) and not str(entry["model"]).startswith("zoo:"):
            entry["model"] = str((path.parent / entry["model"]).resolve())
    if raw.get("base_model") and not str(raw["base_model"]).startswith("zoo:"):
        raw["base_model"] = str((path.parent / raw["base_model"]).resolve())
    params = params_from_args(args, MergeRunParams)
    MergeRunParams.from_params(params)
    spec = JobSpec("merging.merge", params=params, inputs={"config": raw, "source": str(path), "out": str(out)},
                   label=f"merge {path.name} ({cfg.merge_method})")
    return run_job(spec, args, summarize=lambda r: f"{r['method']}: {r['tensors']} tensors, {r['params']} parameters "
                   f"-> {r['out']} ({r['params_per_s']:.3g} params/s)")


def _weights(text: str) -> dict[str, float]:
    out = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, w = part.partition("=")
        try:
            out[name.strip()] = float(w) if w else 1.0
        except ValueError:
            raise ValueError(f"--tasks: weight of {name.strip()!r} is not a number: {w!r}") from None
    if not out:
        raise ValueError("--tasks: name at least one task")
    return out


def _tswitch_apply(args: argparse.Namespace, out: Path) -> int:
    import json

    from backend.jobs import JobSpec

    if len(args.ft) != 1 or not args.apply_base or not args.apply_tasks:
        raise ValueError("usage: tswitch apply SWITCHES --base BASE --tasks t1,t2[=w] --out DIR")
    switches = Path(args.ft[0]).expanduser().resolve()
    meta = switches / "tswitch.json"
    if not meta.is_file():
        raise FileNotFoundError(f"{switches} is not a T-Switch folder (no tswitch.json)")
    known = json.loads(meta.read_text(encoding="utf-8")).get("tasks", {})
    weights = _weights(args.apply_tasks)
    bad = [t for t in weights if t not in known]
    if bad:
        raise ValueError(f"{meta}: no switch for task {bad[0]!r} (it has {', '.join(known)})")
    spec = JobSpec("merging.tswitch_apply", params={"weights": weights},
                   inputs={"base": model_arg(args.apply_base, check=True), "tswitch": str(switches), "out": str(out)},
                   label=f"tswitch apply {', '.join(weights)}")
    return run_job(spec, args, summarize=lambda r: f"base + {', '.join(f'{w:g}*{t}' for t, w in r['weights'].items())}"
                   f" -> {r['out']} ({r['dtype']})")


def _tswitch(args: argparse.Namespace) -> int:
    from backend.jobs import JobSpec

    out = Path(args.out).expanduser().resolve()
    if out.exists():
        raise FileExistsError(f"output folder {out} already exists; choose another or remove it first")
    if args.base == "apply":
        return _tswitch_apply(args, out)
    if args.apply_base or args.apply_tasks:
        raise ValueError("--base and --tasks belong to `tswitch apply SWITCHES --base BASE --tasks ... --out DIR`")
    fts = _finetunes(args.ft)

    def summary(r: dict) -> str:
        lines = [f"T-Switch (drop {r['drop']}, knob per {r.get('knob', 'tensor')}) -> {r['out']}"]
        for t, d in r["tasks"].items():
            lines.append(f"  {t}: {d['bytes']} bytes, {d['bits_per_param']:.3f} bits/param "
                         f"({d.get('pct_of_dtype', d['pct_of_fp32']):.2f}% of {r.get('dtype', 'float32')}), "
                         f"density kept {d['density_kept']:.3f}")
        return "\n".join(lines)

    params = params_from_args(args, TSwitchParams)
    p = TSwitchParams.from_params(params)  # a bad setting fails here, before a run is recorded
    spec = JobSpec("merging.tswitch", params=params,
                   inputs={"base": model_arg(args.base, check=True), "finetunes": fts, "out": str(out)},
                   label=f"tswitch {', '.join(fts)} (drop {p.drop:g})")
    return run_job(spec, args, summarize=summary)


def _eval(args: argparse.Namespace) -> int:
    from backend.jobs import JobSpec

    params = params_from_args(args, MergeEvalParams)
    params["tasks"] = [str(Path(t).expanduser().resolve()) if t.endswith(".jsonl") else t for t in params["tasks"]]
    MergeEvalParams.from_params(params)
    from backend.generation.prompting import PromptParams

    prompt = params_from_args(args, PromptParams)
    PromptParams.from_params(prompt)
    from backend.scale.options import executor_params_from_args

    spec = JobSpec("merging.eval", params={**params, "prompt": prompt, **executor_params_from_args(args)},
                   inputs={"model": model_arg(args.model, check=True)}, device=args.device,
                   label=f"merge-eval {args.model}")

    def fmt(r: dict) -> str:
        lines = []
        for t, a in r["accuracy"].items():
            st = r.get("stats", {}).get(t, {})
            lo, hi = st.get("ci95", (0.0, 1.0))
            lines.append(f"{t}: {100 * a:.1f}% ({st.get('correct', '?')}/{st.get('n', '?')}, 95% CI "
                         f"{100 * lo:.1f}-{100 * hi:.1f}%)")
        return "\n".join(lines + [f"mean {100 * r['mean']:.1f}%"])

    return run_job(spec, args, summarize=fmt)


def _study(args: argparse.Namespace) -> int:
    from backend.jobs import JobSpec
    from backend.scale.options import executor_params_from_args

    base = model_arg(args.base, check=True)
    fts = _finetunes(args.ft)
    evals = {}
    for item in args.evals:
        task, sep, file = item.partition("=")
        path = Path(file).expanduser().resolve()
        if not sep or not task.strip():
            raise ValueError(f"--eval {item!r}: give TASK=FILE")
        if not path.is_file():
            raise FileNotFoundError(f"--eval {task}: no file {path}")
        evals[task.strip()] = str(path)
    params = params_from_args(args, MergeStudyParams)
    p = MergeStudyParams.from_params(params)     # a bad setting fails here, before a run is recorded
    inputs: dict = {"base": base, "finetunes": fts}
    if evals:
        inputs["evals"] = evals
    if args.out:
        out = Path(args.out).expanduser().resolve()
        if out.exists():
            raise FileExistsError(f"output folder {out} already exists; choose another or remove it first")
        inputs["out"] = str(out)
    spec = JobSpec("merging.study", params={**params, **executor_params_from_args(args)}, inputs=inputs,
                   device=args.device, label=f"{p.method} of {len(fts)} fine-tunes")

    def table(r: dict) -> str:
        tasks = r.get("tasks") or []
        width = max([len("exact match"), *(len(label) for label in r["accuracy"])]) + 2
        lines = [f"{r['method']} -> {r['out']}", f"{'exact match':<{width}}" + "".join(f"{t:>8}" for t in
                                                                                  [*tasks, "mean"])]
        for label, accs in r["accuracy"].items():
            vals = [accs[t] for t in tasks if accs.get(t) is not None]
            cells = "".join(f"{accs[t]:>8.3f}" if accs.get(t) is not None else f"{'-':>8}" for t in tasks)
            lines.append(f"{label:<{width}}{cells}" + (f"{sum(vals) / len(vals):>8.3f}" if vals else f"{'-':>8}"))
        return "\n".join(lines)

    return run_job(spec, args, summarize=table)
