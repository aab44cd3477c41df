"""Build profiles: model size, training steps and evaluation sizes.

``tiny`` is for the test suite (the whole pipeline in well under a minute on 2 cores; models are
weak but valid). ``demo`` is what the GUI builds: it meets the figures in docs/zoo.md within
10 minutes on 2 CPU cores.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    hidden: int
    layers: int
    heads: int
    batch: int
    base_steps: int
    base_lr: float
    ft_steps: int
    ft_lr: float
    policy_steps: int
    policy_lr: float
    prm_steps: int
    prm_lr: float
    genprm_steps: int
    genprm_lr: float
    n_pretrain: int        # pretraining documents
    n_task_train: int      # examples per task for fine-tuning
    n_task_eval: int       # held-out examples per task
    n_policy_eval: int     # held-out problems at the default level (greedy + maj@16)
    n_level_eval: int      # held-out problems per level for the per-level greedy figure
    n_prm_problems: int    # problems the policy samples on to make PRM training data
    prm_samples: int       # samples per PRM training problem
    n_pb: int              # ProcessBench-format held-out records
    n_genprm_train: int    # synthetic verifier examples
    n_genprm_eval: int     # held-out policy steps the verifier is scored on
    n_ttrl: int            # unlabeled TTRL prompts
    votes: int = 16
    policy_slip_rate: float = 0.3    # share of the policy's training solutions that carry one slip
    policy_init_frac: float = 0.4    # the policy starts from the base checkpoint at this fraction
    policy_target: float = 0.5       # ... and trains until greedy calibration accuracy reaches this
    policy_min_steps: int = 0        # ... but for at least this many steps (the noise must be learnt)
    policy_check_every: int = 50
    n_policy_cal: int = 60

    def to_dict(self) -> dict:
        return asdict(self)


PROFILES = {
    "tiny": Profile("tiny", hidden=32, layers=2, heads=4, batch=16,
                    base_steps=30, base_lr=3e-3, ft_steps=8, ft_lr=1e-3, policy_steps=10, policy_lr=2e-3,
                    prm_steps=8, prm_lr=2e-3, genprm_steps=8, genprm_lr=2e-3,
                    n_pretrain=200, n_task_train=60, n_task_eval=16, n_policy_eval=12, n_level_eval=4,
                    n_prm_problems=16, prm_samples=2, n_pb=12, n_genprm_train=60, n_genprm_eval=12, n_ttrl=24,
                    votes=4, policy_check_every=5, n_policy_cal=8),
    "demo": Profile("demo", hidden=128, layers=2, heads=4, batch=32,
                    base_steps=1800, base_lr=3e-3, ft_steps=1000, ft_lr=2e-3, policy_steps=400, policy_lr=1.5e-3,
                    prm_steps=300, prm_lr=1e-3, genprm_steps=800, genprm_lr=2e-3,
                    n_pretrain=12000, n_task_train=1500, n_task_eval=150, n_policy_eval=150, n_level_eval=40,
                    n_prm_problems=400, prm_samples=4, n_pb=200, n_genprm_train=3000, n_genprm_eval=200,
                    n_ttrl=200, policy_init_frac=0.5, policy_target=0.55, policy_min_steps=100,
                    policy_check_every=25),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown zoo profile {name!r}; choose one of {', '.join(PROFILES)}") from None
