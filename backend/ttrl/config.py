"""Every TTRL setting in one dataclass, with the reference's defaults and why they differ.

The reference (PRIME-RL/TTRL ``aime.sh``) votes on 64 rollouts, trains on the first 32, uses
lr 5e-7 with cosine decay for a 1.5B model over 8 A100s. Benchtop's defaults are sized for a
small model on a laptop CPU (fewer votes, larger learning rate); the shape of the algorithm
is the same. Steps and learning rate are the ones that visibly work on the demo zoo's policy
(200 steps at 5e-5: pass@1 0.246 -> 0.391 in about 3 minutes; 2e-5 barely moved in 60 steps;
docs/ttrl.md); a large model wants the reference's much smaller rate.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class TTRLConfig:
    """Settings of one TTRL run; ``validate()`` raises ValueError naming the bad field."""

    steps: int = 200
    prompts_per_step: int = 8
    n_votes: int = 16            # rollouts per prompt used for the majority vote
    n_train: int = 16            # first n_train of them are trained on (reference: 64 -> 32)
    temperature: float = 1.0     # rollout temperature (reference 1.0, top_p 1.0)
    top_p: float = 1.0
    max_new_tokens: int = 0      # 0 = the policy's default: 2048 for real models, 96 for the demo zoo
    # prompt (backend.generation.prompting): chat template by default, {problem} substituted
    prompt_template: str = ""
    system_prompt: str = ""
    chat_template: bool = True
    # GRPO
    lr: float = 5e-5
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float = 1.0
    lr_schedule: str = "constant"   # "constant" or "cosine" (reference: cosine)
    warmup_steps: int = 0
    clip_ratio: float = 0.2
    clip_ratio_c: float = 3.0       # dual-clip bound for negative advantages
    kl_coef: float = 0.001          # low-variance KL loss to the frozen reference (0 = no ref model)
    adv_eps: float = 1e-6
    ppo_epochs: int = 1
    mini_batches: int = 1           # optimizer updates per step (per epoch)
    # evaluation (monitoring only; needs a labelled file)
    eval_every: int = 20
    eval_n: int = 16                # samples per eval problem: pass@1 = mean, maj@N = vote
    eval_temperature: float = 0.6   # reference validation: T=0.6, top_p 0.95
    eval_top_p: float = 0.95
    eval_limit: int = 0             # 0 = every labelled problem
    # bookkeeping
    seed: int = 0
    checkpoint_every: int = 10
    keep_checkpoints: int = 2
    dtype: str = "float32"

    def validate(self) -> "TTRLConfig":
        def need(cond: bool, field: str, why: str) -> None:
            if not cond:
                raise ValueError(f"TTRL setting {field}={getattr(self, field)!r}: {why}")

        need(self.max_new_tokens >= 0, "max_new_tokens", "must be >= 0 (0 = the model's default)")
        for name in ("steps", "prompts_per_step", "n_votes", "n_train", "eval_n",
                     "ppo_epochs", "mini_batches", "checkpoint_every", "keep_checkpoints"):
            need(int(getattr(self, name)) >= 1, name, "must be at least 1")
        need(self.n_train <= self.n_votes, "n_train", f"cannot exceed n_votes ({self.n_votes})")
        need(self.n_train >= 2, "n_train", "GRPO needs at least 2 rollouts per group")
        need(self.temperature > 0, "temperature", "rollouts must be sampled (temperature > 0)")
        need(0 < self.top_p <= 1 and 0 < self.eval_top_p <= 1, "top_p", "top_p must be in (0, 1]")
        need(self.eval_temperature >= 0, "eval_temperature", "must be >= 0 (0 = greedy)")
        need(self.lr > 0, "lr", "must be positive")
        need(self.lr_schedule in ("constant", "cosine"), "lr_schedule", "use 'constant' or 'cosine'")
        need(0 <= self.clip_ratio < 1, "clip_ratio", "must be in [0, 1)")
        need(self.clip_ratio_c > 1, "clip_ratio_c", "dual-clip bound must be > 1")
        need(self.kl_coef >= 0, "kl_coef", "must be >= 0")
        need(self.eval_every >= 0 and self.eval_limit >= 0, "eval_every", "must be >= 0")
        need(not self.prompt_template or "{problem}" in self.prompt_template, "prompt_template",
             "must contain {problem}")
        need(self.dtype in ("float32", "bfloat16", "float16"), "dtype", "use float32, bfloat16 or float16")
        need((self.prompts_per_step * self.n_train) % self.mini_batches == 0, "mini_batches",
             "must divide prompts_per_step * n_train")
        return self

    def prompt_params(self):  # noqa: ANN201 - PromptParams, imported lazily
        """The prompt settings as :class:`~backend.generation.prompting.PromptParams`."""
        from backend.generation.prompting import PromptParams

        return PromptParams(chat_template=bool(self.chat_template), system_prompt=self.system_prompt,
                            prompt_template=self.prompt_template).validate()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "TTRLConfig":
        """Build from a JobSpec's params: unknown keys are an error (a typo must not be ignored)."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"unknown TTRL setting(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        values: dict[str, Any] = {}
        for key, value in params.items():
            default = getattr(cls, key, None)
            if key == "betas":
                value = tuple(float(v) for v in value)
            elif isinstance(default, bool):
                if isinstance(value, str):
                    value = value.strip().lower() in ("1", "true", "yes", "on")
                value = bool(value)
            elif isinstance(default, int):
                value = int(value)
            elif isinstance(default, float):
                value = float(value)
            values[key] = value
        return cls(**values).validate()
