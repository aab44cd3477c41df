"""Accessibility-tree TSV (the ScienceBoard / OSWorld linearisation) and hit-testing.

The header is ``tag, name, text, class, description, position (top-left x&y), size (w&h)``;
positions and sizes are written as ``(x, y)``. Columns are found by name so a file with a
column more or less still reads. A ``[...]`` line marks truncation (token limit).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from backend.agents.model import Problem

_PAIR = re.compile(r"^\(?\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)?$")


@dataclass
class A11yNode:
    """One row: the element's role (tag), name, text and bounds in screenshot pixels."""

    row: int
    tag: str
    name: str
    text: str
    cls: str
    description: str
    x: float | None
    y: float | None
    w: float | None
    h: float | None

    def contains(self, px: float, py: float) -> bool:
        if self.x is None or self.y is None or self.w is None or self.h is None:
            return False
        return self.x <= px < self.x + self.w and self.y <= py < self.y + self.h

    @property
    def area(self) -> float:
        return (self.w or 0) * (self.h or 0)


@dataclass
class A11yTable:
    nodes: list[A11yNode]
    truncated: bool
    problems: list[Problem]
    header: list[str]


def _pair(text: str) -> tuple[float, float] | None:
    m = _PAIR.match(text.strip())
    return (float(m.group(1)), float(m.group(2))) if m else None


def parse_a11y(text: str, source: str = "a11y") -> A11yTable:
    """Rows of an a11y TSV; rows with bad bounds are kept (without bounds) and reported by line."""
    lines = text.splitlines()
    problems: list[Problem] = []
    if not lines or not lines[0].strip():
        return A11yTable([], False, [Problem(source, 1, "empty accessibility tree")] if not lines else [], [])
    header = [h.strip().lower() for h in lines[0].split("\t")]

    def col(prefix: str) -> int | None:
        return next((i for i, h in enumerate(header) if h.startswith(prefix)), None)

    idx = {k: col(k) for k in ("tag", "name", "text", "class", "description", "position", "size")}
    if idx["position"] is None or idx["size"] is None:
        problems.append(Problem(source, 1, f"header has no position/size columns: {lines[0][:80]!r}"))
    nodes: list[A11yNode] = []
    truncated = False
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        if line.strip() == "[...]":
            truncated = True
            continue
        cells = line.split("\t")

        def get(key: str) -> str:
            i = idx[key]
            return cells[i] if i is not None and i < len(cells) else ""

        pos, size = _pair(get("position")), _pair(get("size"))
        if (pos is None or size is None) and idx["position"] is not None:
            problems.append(Problem(source, lineno, f"bad bounds {get('position')!r} {get('size')!r}"))
        nodes.append(A11yNode(lineno, get("tag"), get("name"), get("text"), get("class"), get("description"),
                              *(pos or (None, None)), *(size or (None, None))))
    return A11yTable(nodes, truncated, problems, header)


def read_a11y(path: str | Path) -> A11yTable:
    """Read an a11y file (undecodable bytes replaced, never fatal)."""
    path = Path(path)
    return parse_a11y(path.read_text(encoding="utf-8", errors="replace"), str(path))


def element_at(nodes: list[A11yNode], x: float, y: float) -> A11yNode | None:
    """The element under ``(x, y)``: the smallest one whose bounds contain the point.

    Smallest, because the tree lists containers (window, panel) before their children and a
    click lands on the innermost widget; on equal areas the later (deeper) row wins.
    """
    best: A11yNode | None = None
    for n in nodes:
        if n.contains(x, y) and (best is None or n.area <= best.area):
            best = n
    return best
