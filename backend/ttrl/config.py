"""Every TTRL setting in one ``Params`` class, with the reference's defaults and why they differ.

The reference (PRIME-RL/TTRL ``aime.sh``) votes on 64 rollouts, trains on the first 32, uses
lr 5e-7 with cosine decay for a 1.5B model over 8 A100s. Benchtop's defaults are sized for a
small model on a laptop CPU (fewer votes, larger learning rate); the shape of the algorithm
is the same. Steps and learning rate are the ones that visibly work on the demo zoo's policy
(200 steps at 5e-5: pass@1 0.246 -> 0.391 in about 3 minutes; 2e-5 barely moved in 60 steps;
docs/ttrl.md); a large model wants the reference's much smaller rate.

The class is read by the job (``parse_params``), the CLI (generated ``--options``) and the TTRL
panel (a bound form). The prompt settings are a separate group
(:class:`~backend.generation.prompting.PromptParams`) in the same flat params; a run file written
before the split (prompt keys inside ``config``) is read by :func:`parse_params` too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from backend.generation.prompting import PromptParams
from backend.params import Params, param, split_params
from backend.scale.params import ExecutorParams

NOT_TTRL = ("delimiter", "stop")   # prompt settings TTRL has no use for: it rewards whole answers


@dataclass
class TTRLConfig(Params):
    """Settings of one TTRL run; ``validate()`` raises ValueError naming the bad setting."""

    label = "TTRL"
    steps: int = param(200, title="Steps", min=1, help="number of training steps")
    prompts_per_step: int = param(8, title="Prompts / step", min=1, help="prompts sampled per step")
    n_votes: int = param(16, title="Votes N", min=2,
                         help="N: rollouts per prompt that vote on the pseudo-label (reference: 64)")
    n_train: int = param(16, title="Train on", min=2,
                         help="train on the first this many rollouts of each prompt (reference: N/2; GRPO needs 2)")
    lr: float = param(5e-5, title="Learning rate", min=0.0, min_exclusive=True, log=True,
                      help="learning rate (reference: 5e-7 for a 1.5B model)")
    kl_coef: float = param(0.001, title="KL coef", min=0.0, max=10.0, step=0.001, decimals=4,
                           help="weight of the low-variance KL loss to the initial model (0 = no reference model)")
    temperature: float = param(1.0, title="Temperature", min=0.0, min_exclusive=True, max=5.0, step=0.1, decimals=2,
                               help="rollout temperature (rollouts must be sampled: > 0)")
    max_new_tokens: int = param(0, title="Answer tokens", min=0,
                                help="longest response (0: 2048 for real models, 96 for the demo zoo)")
    eval_every: int = param(20, title="Eval every", min=0,
                            help="evaluate on the labelled set every this many steps (0 = only at start and end)")
    eval_n: int = param(16, title="Eval samples", min=1, help="samples per labelled problem for pass@1 and maj@N")
    seed: int = param(0, title="Seed", min=0, help="random seed (sampling and prompt order depend only on it "
                                                    "and the step)")
    # -- rollouts and evaluation (advanced)
    top_p: float = param(1.0, title="Top-p", min=0.0, min_exclusive=True, max=1.0, step=0.05, decimals=2,
                         advanced=True, help="rollout nucleus mass (reference 1.0)")
    eval_temperature: float = param(0.6, title="Eval temperature", min=0.0, max=5.0, step=0.1, decimals=2,
                                    advanced=True, help="evaluation temperature (0 = greedy; reference 0.6)")
    eval_top_p: float = param(0.95, title="Eval top-p", min=0.0, min_exclusive=True, max=1.0, step=0.05,
                              decimals=2, advanced=True, help="evaluation nucleus mass (reference 0.95)")
    eval_limit: int = param(0, title="Eval problems", min=0, advanced=True,
                            help="evaluate on the first K labelled problems (0 = every one)")
    rollout_batch: int = param(8, title="Rollout batch", min=1, advanced=True,
                               help="prompts sampled together (x Votes N rows); each batch has its own random "
                                    "stream and is the unit a shard takes, so the samples depend on this, not "
                                    "on where they run; smaller bounds generation memory")
    # -- GRPO (advanced)
    lr_schedule: str = param("constant", title="LR schedule", choices=("constant", "cosine"), advanced=True,
                             help="learning-rate schedule after warm-up (reference: cosine)")
    warmup_steps: int = param(0, title="Warm-up steps", min=0, advanced=True, help="linear warm-up steps")
    weight_decay: float = param(0.01, title="Weight decay", min=0.0, max=1.0, step=0.01, decimals=4,
                                advanced=True, help="AdamW weight decay")
    betas: tuple[float, ...] = param((0.9, 0.999), title="Adam betas", min=0.0, max=1.0, advanced=True,
                                     help="AdamW (beta1, beta2), comma-separated")
    grad_clip: float = param(1.0, title="Gradient clip", min=0.0, min_exclusive=True, step=0.1, decimals=2,
                             advanced=True, help="gradient norm clip")
    clip_ratio: float = param(0.2, title="Clip ratio", min=0.0, max=1.0, step=0.05, decimals=3, advanced=True,
                              help="PPO clip ratio, in [0, 1)")
    clip_ratio_c: float = param(3.0, title="Dual-clip bound", min=1.0, min_exclusive=True, step=0.5, decimals=2,
                                advanced=True, help="dual-clip bound for negative advantages (> 1)")
    adv_eps: float = param(1e-6, title="Advantage eps", min=0.0, min_exclusive=True, log=True, advanced=True,
                           help="added to the group's reward std before dividing")
    ppo_epochs: int = param(1, title="PPO epochs", min=1, advanced=True, help="passes over each step's rollouts")
    mini_batches: int = param(1, title="Mini-batches", min=1, advanced=True,
                              help="optimizer updates per step and epoch (must divide prompts/step x train on)")
    # -- bookkeeping (advanced)
    checkpoint_every: int = param(10, title="Checkpoint every", min=1, advanced=True,
                                  help="write a checkpoint every this many steps")
    keep_checkpoints: int = param(2, title="Checkpoints kept", min=1, advanced=True,
                                  help="newest checkpoints kept on disk")
    dtype: str = param("float32", title="Precision", choices=("float32", "bfloat16", "float16"), advanced=True,
                       help="training precision of the policy")

    def check(self) -> None:
        if self.n_train > self.n_votes:
            self.fail("n_train", f"cannot exceed Votes N ({self.n_votes})")
        if self.clip_ratio >= 1:
            self.fail("clip_ratio", "must be in [0, 1)")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            self.fail("betas", "give two numbers in [0, 1), e.g. 0.9,0.999")
        if (self.prompts_per_step * self.n_train) % self.mini_batches:
            self.fail("mini_batches", f"must divide prompts per step x train on "
                                      f"({self.prompts_per_step * self.n_train})")


def parse_params(params: dict[str, Any] | None) -> tuple[TTRLConfig, PromptParams]:
    """A TTRL job's flat params (or an old run file's ``config``, which held the prompt settings
    too) as (its settings, the prompt settings); executor keys are accepted (see
    :func:`parse_job_params`)."""
    settings, prompt, _ex = parse_job_params(params)
    return settings, prompt


def parse_job_params(params: dict[str, Any] | None) -> tuple[TTRLConfig, PromptParams, ExecutorParams]:
    """A TTRL job's flat params as (its settings, the prompt settings, where the periodic
    evaluation's shards run): the one place they are split."""
    bad = [k for k in NOT_TTRL if (params or {}).get(k) not in (None, PromptParams().to_dict()[k])]
    if bad:
        raise ValueError(f"TTRL setting {bad[0]}: TTRL rewards whole answers; it neither splits steps nor cuts "
                         "at strings")
    settings, prompt, ex = split_params(params, TTRLConfig, PromptParams, ExecutorParams)
    return cast(TTRLConfig, settings), cast(PromptParams, prompt), cast(ExecutorParams, ex)
