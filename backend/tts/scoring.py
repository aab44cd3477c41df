"""Step scorers for test-time scaling and how their step scores become one solution score.

A *step scorer* is any callable ``score_steps([(problem, steps), ...]) -> [[p_1..p_k], ...]``
returning one probability of correctness per step. Strategies only need that, so they run with
a trained PRM (``backend.prm``), or with :class:`ArithmeticReferenceScorer`, which checks the
arithmetic of the demo zoo's chain problems exactly (a perfect PRM: the ceiling a learned one
can reach on that data, and a deterministic scorer for tests).
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable, Sequence

StepScorer = Callable[[Sequence[tuple[str, list[str]]]], list[list[float]]]
AGGREGATIONS = ("last", "min", "prod", "avg")
REFERENCE = "reference:arithmetic"


def aggregate(scores: Sequence[float], how: str = "last") -> float:
    """One solution score from its step scores (research note §1.4): ``last`` r_T, ``min``,
    ``prod`` (product) or ``avg``. A solution with no steps scores 0 (it cannot win on score)."""
    if how not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {how!r}; use one of {', '.join(AGGREGATIONS)}")
    if not scores:
        return 0.0
    if how == "last":
        return float(scores[-1])
    if how == "min":
        return float(min(scores))
    if how == "prod":
        return float(math.prod(scores))
    return float(sum(scores) / len(scores))


def split_steps(text: str, delimiter: str = "\n") -> list[str]:
    """The steps of a completion: its non-empty ``delimiter``-separated parts (stripped), the final
    answer line included (``\n`` for the zoo, ``\n\n`` for real models)."""
    return [s.strip() for s in text.split(delimiter) if s.strip()]


# -- the reference scorer for the arithmetic zoo ------------------------------------------------
_NUM = r"-?\d+"
_PROBLEM_TOKEN = re.compile(r"\d+|[-+*]")
_STEP_PREFIX = re.compile(r"^Step \d+:\s*")
_STEP = re.compile(rf"^({_NUM})([-+*])({_NUM})=({_NUM})$")
_ANSWER = re.compile(rf"^Answer:\s*({_NUM})$")


def parse_chain(problem: str) -> tuple[int, list[tuple[str, int]]]:
    """``((12+7)*3)-5`` -> (12, [('+', 7), ('*', 3), ('-', 5)]), evaluated left to right as written."""
    body = problem.strip()
    if body.startswith("Problem:"):
        body = body[len("Problem:"):]
    tokens = _PROBLEM_TOKEN.findall(body.replace("(", " ").replace(")", " "))
    if len(tokens) < 3 or len(tokens) % 2 == 0 or not tokens[0].isdigit():
        raise ValueError(f"not an arithmetic chain problem: {problem!r}")
    start, ops = int(tokens[0]), []
    for i in range(1, len(tokens), 2):
        if tokens[i] not in "+-*" or not tokens[i + 1].isdigit():
            raise ValueError(f"not an arithmetic chain problem: {problem!r}")
        ops.append((tokens[i], int(tokens[i + 1])))
    return start, ops


def _apply(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b if op == "-" else a * b


class ArithmeticReferenceScorer:
    """Scores a step ``p_correct`` when it applies the problem's next operation to the true running
    value with the right result and every earlier step was right, else ``p_wrong``; the
    ``Answer:`` line is right when it gives the true result after all operations.

    A real scorer (it computes correctness), not a stub: it is what a perfect PRM would say.
    """

    def __init__(self, p_correct: float = 0.95, p_wrong: float = 0.05) -> None:
        self.p_correct, self.p_wrong = float(p_correct), float(p_wrong)

    def score_one(self, problem: str, steps: Sequence[str]) -> list[float]:
        start, ops = parse_chain(problem)
        value, ok, out = start, True, []
        k = 0
        for step in steps:
            m = _STEP.match(_STEP_PREFIX.sub("", step).replace(" ", ""))
            a = _ANSWER.match(step)
            if m and ok and k < len(ops):
                x, op, y, z = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
                want_op, want_y = ops[k]
                ok = x == value and op == want_op and y == want_y and z == _apply(x, op, y)
                value = _apply(value, want_op, want_y)
                k += 1
            elif a and ok:
                ok = k == len(ops) and int(a.group(1)) == value
            else:
                ok = False
            out.append(self.p_correct if ok else self.p_wrong)
        return out

    def __call__(self, items: Sequence[tuple[str, list[str]]]) -> list[list[float]]:
        return [self.score_one(p, s) for p, s in items]


def load_scorer(spec: str | Path | None, device: str = "cpu", preset: str | None = None) -> StepScorer | None:
    """``None`` (no PRM), ``reference:arithmetic``, or a PRM folder / ``zoo:NAME`` for ``backend.prm``."""
    if spec is None or str(spec) == "":
        return None
    if str(spec) == REFERENCE:
        return ArithmeticReferenceScorer()
    from backend.prm import load_prm

    path = spec
    if str(spec).startswith("zoo:"):
        from backend.models.zoo import resolve_model

        path = resolve_model(str(spec))
    elif not Path(spec).is_dir():
        raise FileNotFoundError(f"PRM folder {spec} does not exist")
    return PRMAdapter(load_prm(path, device, preset=preset))


_STEP_LABEL = re.compile(r"^\s*Step\s+\d+\s*[:.]\s*")
_ANSWER_LINE = re.compile(r"^\s*(?:final\s+)?answer\s*:", re.IGNORECASE)


class PRMAdapter:
    """Feeds a ``backend.prm`` scorer the steps the way PRMs are trained (the zoo PRM too): the
    ``Step k:`` label removed and the final ``Answer:`` line not scored. The answer line takes the
    score of the step before it (the PRM-last of its prefix), so every line still gets one score.

    A generative PRM judges each step with a generation and a sandbox run, and a search asks
    for the same prefixes again and again (beam search re-scores its beams at every step,
    weighted Best-of-N the samples Best-of-N already scored). A step's score depends only on the
    problem and the steps up to it, so those scores are kept per prefix and only new steps are
    judged. Discriminative PRMs score a whole solution in one pass and are not cached.
    """

    def __init__(self, prm) -> None:  # noqa: ANN001 - a backend.prm scorer
        self.prm = prm
        self.cached = getattr(prm, "kind", "") == "generative"
        self._memo: dict[tuple[str, tuple[str, ...]], float] = {}

    def __call__(self, items: Sequence[tuple[str, list[str]]]) -> list[list[float]]:
        plans, batch = [], []
        for problem, lines in items:
            steps: list[str] = []
            index: list[int] = []
            for line in lines:
                if _ANSWER_LINE.match(line) and steps:
                    index.append(len(steps) - 1)          # inherits the last step's score
                else:
                    steps.append(_STEP_LABEL.sub("", line).strip() or line)
                    index.append(len(steps) - 1)
            plans.append(index)
            batch.append((problem, steps))
        scored = self._score_cached(batch) if self.cached else self._score(batch)
        return [[float(s[i]) for i in index] for s, index in zip(scored, plans)]

    def _score(self, batch: list[tuple[str, list[str]]]) -> list[list[float]]:
        todo = [i for i, (_, steps) in enumerate(batch) if steps]     # nothing to score: no call
        got = self.prm.score_batch([batch[i] for i in todo]) if todo else []
        scored: list[list[float]] = [[] for _ in batch]
        for i, s in zip(todo, got):
            scored[i] = list(s)
        return scored

    def _score_cached(self, batch: list[tuple[str, list[str]]]) -> list[list[float]]:
        def known(problem: str, steps: list[str]) -> int:
            k = 0
            while k < len(steps) and (problem, tuple(steps[:k + 1])) in self._memo:
                k += 1
            return k

        # one request per distinct solution, each from its first unknown step
        want: dict[tuple[str, tuple[str, ...]], int] = {}
        for problem, steps in batch:
            k = known(problem, steps)
            if k < len(steps):
                want[(problem, tuple(steps))] = k
        if want:
            keys = list(want)
            got = self.prm.score_batch([(p, list(s)) for p, s in keys], start=[want[k] for k in keys])
            for (problem, key), start, scores in zip(keys, (want[k] for k in keys), got):
                for j, score in enumerate(scores, start):
                    self._memo.setdefault((problem, key[:j + 1]), float(score))
        return [[self._memo[(problem, tuple(steps[:j + 1]))] for j in range(len(steps))] for problem, steps in batch]
