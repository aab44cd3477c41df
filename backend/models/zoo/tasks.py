"""Text formats and synthetic data of the arithmetic zoo: tasks, chain problems, step labels.

Everything is generated from a ``numpy.random.Generator`` so a build is reproducible from its
seed. Formats (documented in docs/zoo.md):

- pretraining text: equations ``a+b=c`` / ``a-b=c`` / ``a*d=c`` (products of 10-99 by 2-9
  included) and capitalised words ``kqzf->KQZF``, one per line, plus worked chain
  solutions in the policy format; the fine-tune task formats below never appear in it, which is
  why the base model is weak on them although it has every skill the tasks need;
- fine-tune tasks: prompt ``add(12,7)=`` -> answer ``19`` (also ``sub``, ``mul``, ``upper``);
- chain problems: ``((12+7)*3)-5`` evaluated as written, levels 1-5; the policy writes
  ``Step k: a<op>b=c`` lines then ``Answer: N`` (docs/contracts.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

TASKS = ("add", "sub", "mul", "upper")
LETTERS = "abcdefghijklmnopqrstuvwxyz"
MAX_VALUE = 99
# level -> (number of operations, largest start value, largest operand of + and -)
LEVELS = {1: (2, 20, 9), 2: (2, 50, 9), 3: (3, 60, 20), 4: (4, 90, 20), 5: (5, 90, 30)}
DEFAULT_LEVEL = 3
STEP_RE = re.compile(r"^Step (\d+): (.*)$")


# -- fine-tune tasks ---------------------------------------------------------------------------
def _mul_operands(rng: np.random.Generator) -> tuple[int, int]:
    """A two-digit number and a digit 2-9: the ``mul`` task's operands (and its skill lines')."""
    return int(rng.integers(10, 100)), int(rng.integers(2, 10))


def _word(rng: np.random.Generator) -> str:
    """3-6 random lower-case letters: the ``upper`` task's input (and its skill lines')."""
    n = int(rng.integers(3, 7))
    return "".join(LETTERS[int(i)] for i in rng.integers(0, 26, size=n))


def task_example(task: str, rng: np.random.Generator) -> tuple[str, str]:
    """One (prompt, answer) pair of ``task``; the answer is what follows the prompt, before EOS."""
    if task == "add":
        a, b = int(rng.integers(10, 70)), int(rng.integers(1, 31))
        return f"add({a},{b})=", str(a + b)
    if task == "sub":
        a = int(rng.integers(10, 100))
        b = int(rng.integers(1, min(30, a) + 1))
        return f"sub({a},{b})=", str(a - b)
    if task == "mul":  # two digits by one (720 distinct prompts: enough to hold some out)
        a, d = _mul_operands(rng)
        return f"mul({a},{d})=", str(a * d)
    if task == "upper":  # a string task: no arithmetic (pretraining capitalises words in another format)
        s = _word(rng)
        return f"upper({s})=", s.upper()
    raise ValueError(f"unknown zoo task {task!r}; known: {', '.join(TASKS)}")


def task_set(task: str, n: int, rng: np.random.Generator, exclude: set[str] | None = None) -> list[dict]:
    """``n`` distinct examples ``{"prompt", "answer", "task"}`` whose prompts are not in ``exclude``."""
    seen = set(exclude or ())
    out: list[dict] = []
    tries = 0
    while len(out) < n and tries < 50 * n:
        tries += 1
        p, a = task_example(task, rng)
        if p in seen:
            continue
        seen.add(p)
        out.append({"prompt": p, "answer": a, "task": task})
    return out


def skill_line(rng: np.random.Generator) -> str:
    """A pretraining line with a fine-tune task's skill in another format than the task's.

    Why: a real fine-tune mostly teaches a pretrained model to use what it already knows in a
    new format, and that is what makes task vectors redundant enough to binarise (T-Switch) or
    store at one bit (Delta-DCT). Fine-tunes that had to learn a new skill (3-digit products,
    letters the base had never seen) kept 36-72% of their gain at those budgets (docs/zoo.md).
    """
    if rng.random() < 0.5:
        a, d = _mul_operands(rng)
        return f"{a}*{d}={a * d}"
    s = _word(rng)
    return f"{s}->{s.upper()}"


# -- chain problems ----------------------------------------------------------------------------
@dataclass
class Problem:
    """A chain ``start op1 b1 op2 b2 ...`` evaluated left to right (the parentheses say so)."""

    start: int
    ops: list[tuple[str, int]]
    level: int

    @property
    def text(self) -> str:
        expr = str(self.start)
        for i, (op, b) in enumerate(self.ops):
            expr = f"{expr}{op}{b}"
            if i < len(self.ops) - 1:
                expr = f"({expr})"
        return expr

    def values(self) -> list[int]:
        """The running value after each operation."""
        v, out = self.start, []
        for op, b in self.ops:
            v = apply(v, op, b)
            out.append(v)
        return out

    @property
    def answer(self) -> int:
        return self.values()[-1]

    def steps(self) -> list[str]:
        """The reference step texts (without the ``Step k: `` prefix)."""
        prev, out = self.start, []
        for (op, b), v in zip(self.ops, self.values()):
            out.append(f"{prev}{op}{b}={v}")
            prev = v
        return out

    def solution(self) -> str:
        lines = [f"Step {i}: {s}" for i, s in enumerate(self.steps(), 1)]
        return "\n".join(lines + [f"Answer: {self.answer}"])

    def prefix_expr(self, k: int) -> str:
        """Python expression for the value after operation ``k`` (1-based)."""
        expr = str(self.start)
        for op, b in self.ops[:k]:
            expr = f"({expr}{op}{b})"
        return expr[1:-1] if k >= 1 else expr


def apply(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b if op == "-" else a * b


def make_problem(level: int, rng: np.random.Generator) -> Problem:
    """A random chain problem of ``level`` whose running values stay in 0..MAX_VALUE."""
    n_ops, max_start, max_add = LEVELS[int(level)]
    while True:
        v = int(rng.integers(2, max_start + 1))
        start, ops = v, []
        for _ in range(n_ops):
            r = rng.random()
            if r < 0.3 and v * 2 <= MAX_VALUE:
                b = int(rng.integers(2, min(9, MAX_VALUE // max(v, 1)) + 1))
                op = "*"
            elif r < 0.65 and v > 1:
                op, b = "-", int(rng.integers(1, min(max_add, v) + 1))
            else:
                op, b = "+", int(rng.integers(1, max_add + 1))
            nv = apply(v, op, b)
            if not 0 <= nv <= MAX_VALUE:
                break
            ops.append((op, b))
            v = nv
        if len(ops) == n_ops:
            return Problem(start, ops, int(level))


def problem_set(n: int, rng: np.random.Generator, levels=(1, 2, 3, 4, 5), exclude: set[str] | None = None,
                weights=None) -> list[Problem]:
    """``n`` distinct problems (texts not in ``exclude``), levels drawn with ``weights``."""
    seen = set(exclude or ())
    out: list[Problem] = []
    levels = list(levels)
    p = None if weights is None else np.asarray(weights, float) / np.sum(weights)
    while len(out) < n:
        prob = make_problem(int(rng.choice(levels, p=p)), rng)
        if prob.text in seen:
            continue
        seen.add(prob.text)
        out.append(prob)
    return out


# -- parsing and labelling the policy's solutions ----------------------------------------------
def parse_solution(text: str) -> tuple[list[str], str | None]:
    """Split a policy completion into step texts (prefix removed) and the ``Answer:`` value."""
    steps: list[str] = []
    answer = None
    for line in text.split("\n"):
        line = line.strip()
        m = STEP_RE.match(line)
        if m:
            steps.append(m.group(2).strip())
        elif line.startswith("Answer:"):
            answer = line[len("Answer:"):].strip()
            break
    return steps, answer


def step_labels(problem: Problem, steps: list[str]) -> list[int]:
    """1 for a correct step: its arithmetic is right, it applies the problem's next operation to
    the true running value, and every step before it was correct; else 0 (and 0 from then on)."""
    ref = problem.steps()
    labels, ok = [], True
    for i, s in enumerate(steps):
        ok = ok and i < len(ref) and s.replace(" ", "") == ref[i]
        labels.append(int(ok))
    return labels


def first_error(labels: list[int]) -> int:
    """ProcessBench ``label``: index of the earliest wrong step, or -1 when all are right."""
    return next((i for i, v in enumerate(labels) if not v), -1)
