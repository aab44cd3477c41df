"""Settings, budgets and per-problem results of test-time scaling (plain, JSON-able data)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

STRATEGIES = ("greedy", "majority", "bon", "weighted_bon", "beam", "dvts")
NEEDS_PRM = frozenset({"bon", "weighted_bon", "beam", "dvts"})
SAMPLED = frozenset({"majority", "bon", "weighted_bon"})  # share one set of N samples per problem


@dataclass
class TTSConfig:
    """How to search. ``n`` is the budget in samples (final candidates); beam search keeps
    ``n // beam_width`` beams and expands each ``beam_width`` times per step; DVTS runs
    ``n // beam_width`` independent subtrees, each expanding its best node ``beam_width`` times.

    ``max_tokens`` bounds a whole answer (and the last step of a tree search), ``step_tokens``
    one step; 0 means the policy's profile default (2048/512 for real models, 96/32 for the demo
    zoo; ``backend.generation.prompting``). ``agg`` turns step scores into a solution score (last,
    min, prod, avg). The prompt fields are :class:`~backend.generation.prompting.PromptParams`'s:
    the chat template by default, ``prompt_template`` with ``{problem}`` (other braces kept),
    ``delimiter`` ``auto`` (``\n\n`` real, ``\n`` zoo) and extra ``stop`` strings.
    """

    n: int = 4
    beam_width: int = 4
    max_steps: int = 8
    temperature: float = 0.8
    top_p: float = 1.0
    max_tokens: int = 0
    step_tokens: int = 0
    agg: str = "last"
    seed: int = 0
    batch_size: int = 64
    share_prefix: bool = True
    prompt_template: str = ""
    delimiter: str = "auto"
    system_prompt: str = ""
    chat_template: bool = True
    stop: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, params: dict) -> "TTSConfig":
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"unknown TTS setting(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        if isinstance(params.get("stop"), (list, tuple)):
            params = {**params, "stop": tuple(str(x) for x in params["stop"])}
        cfg = cls(**params)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        from backend.tts.scoring import AGGREGATIONS

        if self.n < 1:
            raise ValueError(f"n must be at least 1, got {self.n}")
        if self.beam_width < 1:
            raise ValueError(f"beam_width must be at least 1, got {self.beam_width}")
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {self.max_steps}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.agg not in AGGREGATIONS:
            raise ValueError(f"agg must be one of {', '.join(AGGREGATIONS)}, got {self.agg!r}")
        if self.max_tokens < 0 or self.step_tokens < 0:
            raise ValueError("max_tokens and step_tokens must be >= 0 (0 = the model's default)")
        self.prompt_params()

    def prompt_params(self):  # noqa: ANN201 - PromptParams, imported lazily
        """The prompt settings as :class:`PromptParams` (validated)."""
        from backend.generation.prompting import PromptParams

        return PromptParams(chat_template=bool(self.chat_template), system_prompt=self.system_prompt,
                            prompt_template=self.prompt_template, delimiter=self.delimiter,
                            stop=tuple(self.stop)).validate()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["stop"] = list(self.stop)
        return d


@dataclass
class Budget:
    """Compute spent on one problem: generated policy tokens (EOS and delimiters included),
    policy rows sampled, PRM calls (one per scored solution prefix) and steps scored in them."""

    tokens: int = 0
    samples: int = 0
    prm_calls: int = 0
    prm_steps: int = 0

    def add(self, other: "Budget") -> "Budget":
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
