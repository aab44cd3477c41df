"""``python main.py ttrl train --policy DIR --prompts FILE --out DIR [--eval FILE] [--steps S]``.

``--resume`` continues the run in ``--out`` from its latest checkpoint (``--steps`` may extend
it); the other flags expose the most used settings of :class:`~backend.ttrl.config.TTRLConfig`.
"""
from __future__ import annotations

import argparse

from backend.cli.common import add_json_flag, run_job

_OPTIONAL = {
    "prompts_per_step": (int, "prompts per step"),
    "n_votes": (int, "rollouts per prompt for the majority vote"),
    "n_train": (int, "rollouts per prompt trained on (the first ones)"),
    "lr": (float, "learning rate"),
    "kl_coef": (float, "weight of the KL loss to the initial model"),
    "temperature": (float, "rollout temperature"),
    "max_new_tokens": (int, "longest response (default: 2048 real models, 96 demo zoo)"),
    "eval_every": (int, "evaluate every this many steps (0 = only at start and end)"),
    "eval_n": (int, "samples per labelled problem for pass@1 and maj@N"),
    "eval_temperature": (float, "evaluation temperature"),
    "checkpoint_every": (int, "write a checkpoint every this many steps"),
    "seed": (int, "random seed"),
}


_NOT_TTRL = ("delimiter", "stop")   # TTRL rewards whole answers; it neither splits steps nor cuts at strings


def register(sub: argparse._SubParsersAction) -> None:
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
    t.add_argument("--steps", type=int, help="number of training steps (default 200)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    for name, (typ, help_) in _OPTIONAL.items():
        t.add_argument("--" + name.replace("_", "-"), dest=name, type=typ, help=help_)
    from backend.cli.params_args import add_params_arguments
    from backend.generation.prompting import PromptParams

    add_params_arguments(t.add_argument_group("prompt (chat template, system prompt)"), PromptParams,
                         exclude=_NOT_TTRL)
    from backend.generation.engines.params import EngineParams

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


def _train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.jobs import JobSpec

    if args.engine not in (None, "hf"):
        raise ValueError(f"ttrl train: --engine {args.engine} cannot train: TTRL updates the policy's weights in "
                         "this process, so its rollouts must come from those weights (a server or vLLM would sample "
                         "a stale copy); use --engine hf")
    if not args.resume and (not args.policy or not args.prompts):
        raise ValueError("ttrl train needs --policy and --prompts (or --resume to continue a run in --out)")
    from backend.cli.params_args import params_from_args
    from backend.generation.prompting import PromptParams

    params = {k: getattr(args, k) for k in _OPTIONAL if getattr(args, k) is not None}
    params.update(params_from_args(args, PromptParams, exclude=_NOT_TTRL))
    PromptParams.from_params(params_from_args(args, PromptParams, exclude=_NOT_TTRL))
    if args.steps is not None:
        params["steps"] = args.steps
    inputs = {"out": str(Path(args.out).resolve())}
    if args.resume:
        params = {"resume": True, **({"steps": args.steps} if args.steps else {})}
    else:
        inputs.update(policy=args.policy if args.policy.startswith("zoo:") else str(Path(args.policy).resolve()),
                      prompts=str(Path(args.prompts).resolve()))
        if args.eval:
            inputs["eval"] = str(Path(args.eval).resolve())
    spec = JobSpec("ttrl.train", params=params, inputs=inputs, device=args.device, label="ttrl")
    return run_job(spec, args, summarize=_summary)
