"""Problem sets for test-time scaling: JSONL (or a JSON array) with ``problem``, ``answer``, ``level``.

``answer`` may be missing (then accuracy is not reported, only the chosen answers); ``level`` is
optional metadata. Every error names the file and the line (or array index) and the field.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One problem: ``index`` is its position in the file (seeds are derived from it)."""

    index: int
    problem: str
    answer: str | None = None
    level: int | None = None

    def to_dict(self) -> dict:
        return {"index": self.index, "problem": self.problem, "answer": self.answer, "level": self.level}


def _record(obj, where: str, index: int) -> Problem:  # noqa: ANN001
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object with a 'problem' field, got {type(obj).__name__}")
    text = obj.get("problem", obj.get("question", obj.get("prompt")))
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: field 'problem' is missing or not a non-empty string")
    answer = obj.get("answer")
    if answer is not None and not isinstance(answer, (str, int, float)):
        raise ValueError(f"{where}: field 'answer' must be a string or a number, got {type(answer).__name__}")
    level = obj.get("level")
    if level is not None:
        try:
            level = int(level)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: field 'level' must be an integer, got {level!r}") from None
    return Problem(index, text, None if answer is None else str(answer), level)


def load_problems(path: str | Path, limit: int | None = None) -> list[Problem]:
    """Read a problem file (``.jsonl`` one object per line, or ``.json`` holding an array)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"problem file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    problems: list[Problem] = []
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a JSON array of problems")
        for i, obj in enumerate(data):
            problems.append(_record(obj, f"{path} item {i}", len(problems)))
    else:
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path} line {lineno}: not valid JSON ({exc.msg})") from None
            problems.append(_record(obj, f"{path} line {lineno}", len(problems)))
    if not problems:
        raise ValueError(f"{path}: no problems in the file")
    return problems[:limit] if limit else problems
