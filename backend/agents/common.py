"""Small shared pieces of the two readers: JSON-lines with line numbers, score files, listings."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

from backend.agents.model import Problem


def iter_jsonl(path: Path, problems: list[Problem]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line_number, object)`` for each good line; bad lines are reported, not fatal.

    A run is often written by a process that was killed, so a truncated last line or a
    stray non-object line must not hide the rest of the task.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        problems.append(Problem(str(path), None, f"cannot read: {exc.strerror or exc}"))
        return
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(path), lineno, f"malformed JSON line ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(str(path), lineno, f"expected a JSON object, got {type(obj).__name__}"))
            continue
        yield lineno, obj


def read_score(path: Path, problems: list[Problem]) -> float | None:
    """The number in ``result.out`` / ``result.txt`` (None, reported, when it is not one)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError as exc:
        problems.append(Problem(str(path), None, f"cannot read: {exc.strerror or exc}"))
        return None
    try:
        value = float(text.splitlines()[0]) if text else None
    except ValueError:
        value = None
    if value is None or value != value:
        problems.append(Problem(str(path), 1, f"not a score: {text[:40]!r}"))
        return None
    return value


def list_files(folder: Path) -> dict[str, Path]:
    """File names of ``folder`` (one ``scandir``; no stat of each file)."""
    try:
        with os.scandir(folder) as it:
            return {e.name: Path(e.path) for e in it if not e.name.startswith(".")}
    except OSError:
        return {}


def load_json(path: Path, problems: list[Problem]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(str(path), None, f"cannot read: {exc}"))
    except json.JSONDecodeError as exc:
        problems.append(Problem(str(path), exc.lineno, f"malformed JSON ({exc.msg})"))
    return None
