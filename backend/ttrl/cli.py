"""``python main.py ttrl train --policy DIR --prompts FILE --out DIR [--eval FILE] [--steps S]``.

``--resume`` continues the run in ``--out`` from its latest checkpoint (``--steps`` may extend
it). Every setting option is generated from :class:`~backend.ttrl.config.TTRLConfig` and each
group in ``_GROUPS`` (the prompt settings, the executor); a new group is one more line there.
"""
from __future__ import annotations

import argparse

from backend.cli.common import add_json_flag, run_job
from backend.cli.params_args import (
    SettingsGroups,
    add_group_arguments,
    add_params_arguments,
    params_from_args,
    params_from_groups,
)
from backend.ttrl.config import NOT_TTRL

# settings groups besides TTRLConfig: (class, argument-group title, fields left out)
_GROUPS: SettingsGroups = (
    ("backend.generation.prompting:PromptParams", "prompt (chat template, system prompt)", NOT_TTRL),
    ("backend.scale.params:ExecutorParams", "executor (where the rollout and evaluation shards run; docs/scale.md)",
     ()),
)


def register(sub: argparse._SubParsersAction) -> None:
    from backend.ttrl.config import TTRLConfig

    p = sub.add_parser("ttrl", help="test-time RL on unlabeled prompts (TTRL)",
                       description="Test-time reinforcement learning with majority-vote rewards.")
    ts = p.add_subparsers(dest="ttrl_command", required=True, metavar="{train}")
    t = ts.add_parser("train", help="train a policy on unlabeled prompts",
                      description="Sample N answers per prompt, reward agreement with the majority, update "
                                  "with GRPO. A labelled --eval file is used only to monitor.")
    t.add_argument("--policy", help="policy model folder or zoo:NAME (not needed with --resume)")
    t.add_argument("--prompts", help="unlabeled prompts: .jsonl/.json with 'problem', or .txt one per line")
    t.add_argument("--out", required=True, help="output folder (checkpoints, metrics, rollouts, model/)")
    t.add_argument("--eval", help="labelled file (problem + answer) for monitoring; never trained on")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint "
                                                         "(its settings are kept; --steps may extend it)")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    add_params_arguments(t, TTRLConfig)
    add_group_arguments(t, _GROUPS)
    from backend.generation.engines.params import EngineParams   # only to refuse a served engine with a reason

    add_params_arguments(t.add_argument_group("generation engine"), EngineParams, only=("engine",))
    add_json_flag(t)
    t.set_defaults(func=_train)


def _summary(result: dict) -> str:
    lines = [f"trained {result.get('steps')} steps; model: {result.get('model')}"]
    start, end = result.get("eval_start") or {}, result.get("eval_end") or {}
    if start and end:
        lines.append(f"pass@1 {start['pass@1']:.3f} -> {end['pass@1']:.3f}; "
                     f"maj@N {start['maj@N']:.3f} -> {end['maj@N']:.3f}")
    lines.append(f"metrics: {result.get('metrics_file')}")
    return "\n".join(lines)


def _params(args: argparse.Namespace) -> dict:
    """The options the user gave (every group, flat as the job reads them), validated here so a
    bad value fails before a run is recorded."""
    from backend.scale.options import check_executor
    from backend.ttrl.config import TTRLConfig, parse_job_params

    params = params_from_args(args, TTRLConfig)
    params.update(params_from_groups(args, _GROUPS))
    check_executor(parse_job_params(params)[2])
    return params


def _train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.jobs import JobSpec

    if args.engine not in (None, "hf"):
        raise ValueError(f"ttrl train: --engine {args.engine} cannot train: TTRL updates the policy's weights in "
                         "this process, so its rollouts must come from those weights (a server or vLLM would sample "
                         "a stale copy); use --engine hf")
    if not args.resume and (not args.policy or not args.prompts):
        raise ValueError("ttrl train needs --policy and --prompts (or --resume to continue a run in --out)")
    params = _params(args)
    inputs = {"out": str(Path(args.out).resolve())}
    if args.resume:   # the run file holds the settings; only --steps and where evaluation runs may change
        from backend.scale.params import ExecutorParams

        where = {k: v for k, v in params.items() if k in ExecutorParams.defaults()}
        params = {"resume": True, **({"steps": args.steps} if args.steps else {}), **where}
    else:
        inputs.update(policy=args.policy if args.policy.startswith("zoo:") else str(Path(args.policy).resolve()),
                      prompts=str(Path(args.prompts).resolve()))
        if args.eval:
            inputs["eval"] = str(Path(args.eval).resolve())
    spec = JobSpec("ttrl.train", params=params, inputs=inputs, device=args.device, label="ttrl")
    return run_job(spec, args, summarize=_summary)
