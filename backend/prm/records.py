"""Reading JSONL inputs line by line: bad lines are reported with their numbers, the rest kept."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from backend.prm.steps import split_steps


@dataclass
class Loaded:
    records: list[dict]        # each has "_line" (1-based line number in the file)
    errors: list[str]          # "FILE:LINE: problem"


def read_jsonl(path: str | Path, check: Callable[[dict], dict]) -> Loaded:
    """Parse ``path`` (JSONL, or a JSON array as in the HF ProcessBench files) with ``check`` per
    record; ``check`` returns the cleaned record or raises ValueError naming the field."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8", errors="replace")
    rows: list[tuple[int, Any]] = []
    errors: list[str] = []
    if text.lstrip().startswith("["):
        try:
            arr = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        rows = [(i + 1, obj) for i, obj in enumerate(arr)]
        where = "item"
    else:
        where = "line"
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                errors.append(f"{path}:{n}: not valid JSON ({exc.msg} at column {exc.colno})")
    records = []
    for n, obj in rows:
        try:
            if not isinstance(obj, dict):
                raise ValueError("expected a JSON object")
            rec = check(obj)
        except ValueError as exc:
            errors.append(f"{path}:{n}: {exc}" if where == "line" else f"{path}: item {n}: {exc}")
            continue
        rec["_line"] = n
        records.append(rec)
    return Loaded(records, errors)


def check_solution(obj: dict, split: str = "auto", pattern: str | None = None) -> dict:
    """A scoring input: ``problem`` plus ``steps`` (list of strings) or ``solution`` (text to split)."""
    problem = obj.get("problem", obj.get("question"))
    if not isinstance(problem, str) or not problem.strip():
        raise ValueError("field 'problem' must be a non-empty string")
    steps = obj.get("steps")
    if steps is None and isinstance(obj.get("solution"), str):
        steps = split_steps(obj["solution"], split, pattern)
    if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
        raise ValueError("field 'steps' must be a list of strings (or give 'solution' text)")
    if not steps:
        raise ValueError("no steps to score")
    return {**obj, "problem": problem, "steps": steps}


def check_processbench(obj: dict) -> dict:
    """A ProcessBench record: ``problem``, ``steps``, ``label`` in {-1, 0..len(steps)-1}."""
    rec = check_solution({k: v for k, v in obj.items() if k != "solution"})
    label = obj.get("label")
    if isinstance(label, bool) or not isinstance(label, int):
        raise ValueError(f"field 'label' must be an integer, got {label!r}")
    if not -1 <= label < len(rec["steps"]):
        raise ValueError(f"field 'label' {label} out of range for {len(rec['steps'])} steps (-1 means no error)")
    rid = obj.get("id")
    rec["id"] = str(rid) if rid is not None else ""
    rec["subset"] = str(obj.get("subset") or (rec["id"].rsplit("-", 1)[0] if "-" in rec["id"] else "all"))
    return rec
