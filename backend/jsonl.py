"""Strict JSON-lines reading for inputs where one bad line should stop the job with its location.

(The PRM and agent-log readers keep going past bad lines and report them; they have their own.)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator


def strict_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line_number, object)`` for each non-blank line; ValueError naming ``FILE:LINE`` at the
    first line that is not a JSON object, or the file when it is not UTF-8."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    for i, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{i}: not JSON ({exc})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{i}: expected a JSON object")
        yield i, row
