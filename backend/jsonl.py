"""JSON-lines reading, strict or tolerant.

``strict_rows`` is for inputs a job cannot run without (eval sets, calibration text): the first
bad line stops with ``FILE:LINE``. ``tolerant_rows`` and ``JsonlTail`` are for logs and for files
a running job is still writing (metrics, per-problem details, records): bad lines are skipped and
reported, and a last line still being written is not read as a broken one.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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


# -- tolerant reading: logs and files a running job may still be writing -------------------------
@dataclass(frozen=True)
class LineProblem:
    """A line a tolerant reader skipped: where it is and why (``line`` None: the whole file)."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line is not None else f"{self.path}: {self.message}"


def tolerant_rows(path: str | Path, problems: list[LineProblem] | None = None, *,
                  growing: bool = False) -> list[tuple[int, dict[str, Any]]]:
    """``(line_number, object)`` for every line that is a JSON object; the others are skipped and,
    when ``problems`` is given, reported there (file, line, why) instead of stopping the read.

    ``growing=True`` is for a file a running job is still appending to: a last line with no
    newline yet is a write in progress, so it is left for the next read rather than reported.
    A file that does not exist reads as no rows (a job that has not written yet).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        if problems is not None:
            problems.append(LineProblem(str(path), None, f"cannot read ({exc.strerror or exc})"))
        return []
    if growing and data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
    return list(_parse_lines(path, data, 1, problems))


def _parse_lines(path: Path, data: bytes, first_line: int,
                 problems: list[LineProblem] | None) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, raw in enumerate(data.split(b"\n"), first_line):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            why = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        except ValueError as exc:
            why = f"not JSON ({exc})"
        else:
            if isinstance(row, dict):
                yield i, row
                continue
            why = f"expected a JSON object, got {type(row).__name__}"
        if problems is not None:
            problems.append(LineProblem(str(path), i, why))


class JsonlTail:
    """Reads a JSON-lines file a job is appending to, a few new lines at a time.

    Each :meth:`read_new` parses only the complete lines added since the last call (a partly
    written last line waits for its newline), so a panel polling a long log costs what was added,
    not the whole file, and never sees half a record. A file that was replaced by a shorter one
    (a job restarted) is read again from its start.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self.line = 1
        self.problems: list[LineProblem] = []

    def read_new(self) -> list[dict[str, Any]]:
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size < self.offset:  # replaced: start again
            self.offset, self.line = 0, 1
        if size == self.offset:
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(size - self.offset)
        end = data.rfind(b"\n") + 1
        if end == 0:
            return []
        chunk = data[:end]
        rows = [row for _, row in _parse_lines(self.path, chunk[:-1], self.line, self.problems)]
        self.offset += end
        self.line += chunk.count(b"\n")
        return rows
