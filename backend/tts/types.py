"""Strategy names, budgets and per-problem results of test-time scaling (plain, JSON-able data).

The search settings are :class:`backend.tts.params.TTSParams`; ``STRATEGIES`` here is the one list
of strategies the settings, the CLI and the panel offer.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

STRATEGIES = ("greedy", "majority", "bon", "weighted_bon", "beam", "dvts")
NEEDS_PRM = frozenset({"bon", "weighted_bon", "beam", "dvts"})
SAMPLED = frozenset({"majority", "bon", "weighted_bon"})  # share one set of N samples per problem


@dataclass
class Budget:
    """Compute spent on one problem: generated policy tokens (EOS and delimiters included),
    policy rows sampled, PRM calls (one per scored solution prefix) and steps scored in them."""

    tokens: int = 0
    samples: int = 0
    prm_calls: int = 0
    prm_steps: int = 0

    def add(self, other: Budget) -> Budget:
        return Budget(self.tokens + other.tokens, self.samples + other.samples,
                      self.prm_calls + other.prm_calls, self.prm_steps + other.prm_steps)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Candidate:
    """A full solution: its completion text, steps, step scores, aggregated score and answer."""

    text: str
    steps: list[str]
    answer: str | None
    tokens: int = 0
    finish: str = ""
    scores: list[float] | None = None
    score: float | None = None
    node: int | None = None        # tree node of its last step (tree search)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ProblemResult:
    """What one strategy did on one problem at one budget ``n``."""

    index: int
    strategy: str
    n: int
    answer: str | None
    correct: bool | None
    budget: Budget
    candidates: list[Candidate] = field(default_factory=list)
    tree: list[dict] | None = None      # tree search: nodes {id, parent, depth, step, score, agg, status}
    winner: int | None = None           # index in candidates of the chosen solution

    def to_dict(self) -> dict:
        d = asdict(self)
        d["budget"] = self.budget.to_dict()
        return d
