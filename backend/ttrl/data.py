"""Prompt files: the unlabeled training set and the optional labelled monitoring set.

Accepted formats: JSON Lines (one object per line), a JSON array of objects, or plain text
(one problem per line). The problem is read from ``problem`` (or ``question``/``prompt``);
the answer from ``answer`` (or ``ground_truth``/``label``).

Training prompts are loaded with :func:`load_prompts`, which keeps *only* the problem text:
even when the file carries answers they are dropped here, so no label can travel with the
training batch. Answers enter only through :func:`load_labelled`, used for monitoring.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

_PROBLEM_KEYS = ("problem", "question", "prompt")
_ANSWER_KEYS = ("answer", "ground_truth", "label")


@dataclass(frozen=True)
class Prompt:
    """One unlabeled training prompt: its position in the file and the problem text only."""

    index: int
    problem: str


@dataclass(frozen=True)
class LabelledProblem:
    index: int
    problem: str
    answer: str


def _records(path: Path) -> list[tuple[int, object]]:
    """(line number, record) pairs; raises ValueError naming the file and line."""
    if not path.is_file():
        raise FileNotFoundError(f"prompt file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".txt":
        return [(i, line.strip()) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
        return [(i, rec) for i, rec in enumerate(data, 1)]
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((i, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: line {i}: not valid JSON ({exc.msg})") from None
    return out


def _field(path: Path, line: int, rec: object, keys: tuple[str, ...], what: str) -> str | None:
    if isinstance(rec, str):
        return rec if what == "problem" else None
    if not isinstance(rec, dict):
        raise ValueError(f"{path}: line {line}: expected an object with a 'problem' field, got {type(rec).__name__}")
    for key in keys:
        if key in rec and rec[key] is not None:
            value = rec[key]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{path}: line {line}: field '{key}' must be a non-empty string")
            return value
    return None


def load_prompts(path: str | Path) -> list[Prompt]:
    """The training prompts of ``path`` (problem text only; any answers are discarded)."""
    path = Path(path)
    prompts: list[Prompt] = []
    for line, rec in _records(path):
        problem = _field(path, line, rec, _PROBLEM_KEYS, "problem")
        if problem is None:
            raise ValueError(f"{path}: line {line}: no problem text (expected one of {', '.join(_PROBLEM_KEYS)})")
        prompts.append(Prompt(len(prompts), problem))
    if not prompts:
        raise ValueError(f"{path}: no prompts found")
    return prompts


def load_labelled(path: str | Path) -> list[LabelledProblem]:
    """The labelled monitoring problems of ``path``; every record needs an answer."""
    path = Path(path)
    out: list[LabelledProblem] = []
    for line, rec in _records(path):
        problem = _field(path, line, rec, _PROBLEM_KEYS, "problem")
        answer = _field(path, line, rec, _ANSWER_KEYS, "answer")
        if problem is None:
            raise ValueError(f"{path}: line {line}: no problem text (expected one of {', '.join(_PROBLEM_KEYS)})")
        if answer is None:
            raise ValueError(f"{path}: line {line}: no answer (expected one of {', '.join(_ANSWER_KEYS)})")
        out.append(LabelledProblem(len(out), problem, answer))
    if not out:
        raise ValueError(f"{path}: no labelled problems found")
    return out


def step_indices(n_prompts: int, step: int, per_step: int, seed: int) -> list[int]:
    """Prompt indices for training step ``step`` (0-based): a fresh seeded shuffle per epoch.

    Depends only on its arguments, so a resumed run draws exactly the prompts the
    uninterrupted run would have drawn.
    """
    import numpy as np

    out: list[int] = []
    pos = step * per_step
    while len(out) < per_step:
        epoch, offset = divmod(pos, n_prompts)
        perm = np.random.default_rng([seed, epoch, 7]).permutation(n_prompts)
        take = min(per_step - len(out), n_prompts - offset)
        out.extend(int(i) for i in perm[offset:offset + take])
        pos += take
    return out
