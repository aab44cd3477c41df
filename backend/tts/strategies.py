"""Test-time scaling strategies over a batch of problems: greedy, majority vote, Best-of-N,
weighted Best-of-N, beam search and DVTS (research note §1.4-1.5).

All problems of a call advance together, so every policy call is one large batch and every PRM
call scores all new prefixes at once. Every sample's seed is derived from (run seed, problem
index, strategy, position in the search), so a run reproduces exactly and does not depend on
which other problems share the batch. Budgets count every generated token and every PRM call,
including samples that a search later prunes.

Answer selection (``select``, ``finish``) lives in ``backend.tts.selection``; beam search and
DVTS in ``backend.tts.tree``. Neither imports this module, so there is no import cycle.
"""
from __future__ import annotations

from typing import Callable, Sequence

from backend.generation.policy import Policy, SamplingParams
from backend.generation.prompting import PromptParams, resolve
from backend.generation.sampling import derive_seed
from backend.tts.data import Problem
from backend.tts.params import TTSParams
from backend.tts.scoring import StepScorer, aggregate, split_steps
from backend.tts.selection import extract, finish, is_correct, select
from backend.tts.tree import tree_search
from backend.tts.types import NEEDS_PRM, Budget, Candidate, ProblemResult

__all__ = ["Searcher", "extract", "finish", "is_correct", "select"]  # the selection rules, re-exported

Progress = Callable[[float, str], None]


class Searcher:
    """Runs strategies with one policy and (optionally) one step scorer."""

    def __init__(self, policy: Policy, scorer: StepScorer | None, config: TTSParams,
                 should_stop: Callable[[], None] | None = None, prompt: PromptParams | None = None) -> None:
        config.validate()
        self.policy, self.scorer, self.cfg = policy, scorer, config
        # the concrete prompt, delimiter, stops and token limits for this policy (recorded in runs)
        self.rp = resolve(policy.tokenizer, (prompt or PromptParams()).validate(), config.max_tokens,
                          config.step_tokens)
        self._prompts: dict[str, str] = {}
        self.should_stop = should_stop
        self.prm_seconds = 0.0

    # -- building blocks ----------------------------------------------------------------------
    def prompt(self, problem: Problem, prefix: str = "") -> str:
        """The policy's prompt for ``problem`` (chat template, system prompt, template) + ``prefix``."""
        from backend.generation.prompting import build_prompt

        text = self._prompts.get(problem.problem)
        if text is None:
            text = self._prompts[problem.problem] = build_prompt(self.policy.tokenizer, problem.problem, self.rp)
        return text + prefix

    def sampling(self, temperature: float, max_tokens: int, step: bool) -> SamplingParams:
        return SamplingParams(temperature, self.cfg.top_p, max_tokens, step, self.rp.delimiter, self.rp.stop)

    def _generate(self, prompts: list[str], seeds: list[int], params: SamplingParams):
        return self.policy.generate(prompts, seeds, params, batch_size=self.cfg.batch_size,
                                    share_prefix=self.cfg.share_prefix, should_stop=self.should_stop)

    def score(self, items: list[tuple[Problem, list[str]]], budgets: list[Budget]) -> list[list[float]]:
        """Step scores of (problem, steps) items; charges one PRM call per item to its budget."""
        import time

        if self.scorer is None:
            raise ValueError("this strategy needs a PRM (--prm)")
        if not items:
            return []
        t0 = time.perf_counter()
        scores = self.scorer([(p.problem, steps) for p, steps in items])
        self.prm_seconds += time.perf_counter() - t0
        for (_, steps), got, b in zip(items, scores, budgets):
            if len(got) != len(steps):
                raise ValueError(f"the PRM returned {len(got)} scores for {len(steps)} steps")
            b.prm_calls += 1
            b.prm_steps += len(steps)
        return [list(map(float, s)) for s in scores]

    def sample(self, problems: list[Problem], n: int, greedy: bool = False) -> list[list[Candidate]]:
        """``n`` whole solutions per problem (sample j of a problem has the same seed in every run)."""
        cfg = self.cfg
        params = self.sampling(0.0 if greedy else cfg.temperature, self.rp.max_tokens, False)
        prompts = [self.prompt(p) for p in problems for _ in range(n)]
        seeds = [derive_seed(cfg.seed, p.index, "sample", j) for p in problems for j in range(n)]
        outs = self._generate(prompts, seeds, params)
        return [[Candidate(o.text, split_steps(o.text, self.rp.delimiter), extract(o.text), o.tokens, o.finish)
                 for o in outs[i * n:(i + 1) * n]] for i in range(len(problems))]

    def score_candidates(self, problems: list[Problem], groups: list[list[Candidate]]) -> list[Budget]:
        """Fill ``scores``/``score`` of every candidate; returns the PRM cost of each candidate."""
        items, owners, costs = [], [], []
        for p, group in zip(problems, groups):
            for c in group:
                items.append((p, c.steps))
                owners.append(c)
                costs.append(Budget())
        for c, s in zip(owners, self.score(items, costs)):
            c.scores, c.score = s, aggregate(s, self.cfg.agg)
        return costs

    # -- strategies ---------------------------------------------------------------------------
    def run(self, strategy: str, problems: list[Problem], progress: Progress | None = None) -> list[ProblemResult]:
        """Run one strategy at budget ``cfg.n`` on every problem."""
        if strategy in NEEDS_PRM and self.scorer is None:
            raise ValueError(f"strategy {strategy!r} needs a PRM (--prm)")
        if strategy in ("beam", "dvts"):
            return tree_search(self, strategy, problems, self.cfg.n, self.cfg.beam_width, progress)
        if strategy == "greedy":
            groups = self.sample(problems, 1, greedy=True)
            return [finish(p, "greedy", 1, g, Budget(sum(c.tokens for c in g), 1)) for p, g in zip(problems, groups)]
        return self.run_sampled(problems, [strategy], [self.cfg.n])[strategy][self.cfg.n]

    def run_sampled(self, problems: list[Problem], strategies: Sequence[str], ns: Sequence[int]
                    ) -> dict[str, dict[int, list[ProblemResult]]]:
        """Majority / Best-of-N / weighted Best-of-N at every n in ``ns`` from ONE set of
        max(ns) samples per problem: budget n uses the first n samples (as search-and-learn does),
        and its budget counts exactly those n samples and their PRM calls."""
        top = max(ns)
        groups = self.sample(problems, top)
        costs = None
        if any(s in NEEDS_PRM for s in strategies):
            costs = [self.score_candidates([p], [g]) for p, g in zip(problems, groups)]
        out: dict[str, dict[int, list[ProblemResult]]] = {}
        for s in strategies:
            out[s] = {}
            for n in ns:
                res = []
                for i, (p, g) in enumerate(zip(problems, groups)):
                    b = Budget(sum(c.tokens for c in g[:n]), n)
                    if s in NEEDS_PRM and costs is not None:
                        for cost in costs[i][:n]:
                            b = b.add(cost)
                    sub = [Candidate(**c.to_dict()) for c in g[:n]]
                    res.append(finish(p, s, n, sub, b))
                out[s][n] = res
        return out
