"""The one run model both readers produce, so the panel, the aggregates and the report never
care which benchmark wrote a folder.

Nothing here loads an image: steps hold paths, so opening a run of thousands of screenshots
costs a directory listing and the small ``traj.jsonl`` files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: task statuses, in the order tables show them
STATUSES = ("pass", "partial", "fail", "crashed", "skipped")


@dataclass
class Problem:
    """Something wrong in the input, kept (not raised) so one bad line never hides a run."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass
class Action:
    """One structured action.

    ``kind``: click, double_click, right_click, middle_click, triple_click, move, drag, mouse_down,
    mouse_up, scroll, hscroll, type, key, hotkey, key_down, key_up, wait, done, fail, answer,
    timeout, code (unparsable or non-GUI code) or unknown.
    ``coords``: ``absolute`` (pixels), ``relative`` (0-1 of the screen), ``tag`` (a Set-of-Mark
    ``tag_N`` whose position is not logged), ``unresolved`` (an expression) or ``none``.
    For a drag, ``(x0, y0)`` is where the pointer was (if known) and ``(x, y)`` where it ends.
    """

    kind: str
    x: float | None = None
    y: float | None = None
    coords: str = "none"
    x0: float | None = None
    y0: float | None = None
    target: str | None = None
    button: str | None = None
    text: str | None = None
    keys: list[str] = field(default_factory=list)
    amount: float | None = None
    source: str = ""
    note: str = ""

    def has_point(self) -> bool:
        return self.x is not None and self.y is not None and self.coords in ("absolute", "relative")

    def to_pixels(self, width: int, height: int) -> tuple[float, float] | None:
        """The action's point in pixels of a ``width`` x ``height`` screenshot (None if unknown)."""
        if not self.has_point() or self.x is None or self.y is None:  # has_point() checks both
            return None
        if self.coords == "relative":
            return self.x * width, self.y * height
        return self.x, self.y

    def describe(self) -> str:
        """A short human label, e.g. ``click (120, 40)`` or ``type 'hello'``."""
        if self.coords == "tag":
            where = f" {self.target} (tag, position not logged)"
        elif self.coords == "unresolved":
            where = f" {self.target} (unresolved)"
        elif self.has_point():
            fmt = "{:.3f}" if self.coords == "relative" else "{:.0f}"
            where = f" ({fmt.format(self.x)}, {fmt.format(self.y)})" + (" rel" if self.coords == "relative" else "")
        else:
            where = ""
        extra = ""
        if self.kind in ("type", "answer") and self.text is not None:
            extra = f" {self.text!r}"
        elif self.keys:
            extra = " " + "+".join(self.keys)
        elif self.kind in ("scroll", "hscroll", "wait") and self.amount is not None:
            extra = f" {self.amount:g}"
        elif self.kind in ("code", "unknown") and self.note:
            extra = f" ({self.note})"
        return f"{self.kind}{where}{extra}"


@dataclass
class Step:
    """One executed step.

    ``observation`` is the screenshot the agent saw when it chose the action (where overlays are
    drawn); ``after`` the screen after it. ScienceBoard logs the observation (``step_i``),
    OSWorld the screen after the action (``step_n``): readers fill both fields accordingly.
    ``screenshot_missing`` is true when the log names an image that is not on disk.
    """

    index: int
    number: int | None
    line: int | None
    raw_actions: list[Any] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    observation: Path | None = None
    after: Path | None = None
    screenshot_name: str | None = None
    screenshot_missing: bool = False
    a11y: Path | None = None
    response: str | None = None
    timestamp: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Task:
    """One task of a run: its steps, outcome and (when the task JSON is known) its definition."""

    domain: str
    task_id: str
    path: Path
    format: str
    steps: list[Step] = field(default_factory=list)
    score: float | None = None
    crashed: bool = False
    crash: str | None = None
    instruction: str | None = None
    budget: int | None = None
    stop_type: str | None = None
    log_file: Path | None = None
    definition: dict[str, Any] | None = None
    initial: Path | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.domain}/{self.task_id}"

    @property
    def status(self) -> str:
        """pass (score 1), partial (0 < score < 1), fail (0), crashed (ran, no result) or skipped."""
        if self.score is not None and not self.crashed:
            if self.score >= 1.0:
                return "pass"
            return "partial" if self.score > 0 else "fail"
        if self.crashed or self.steps or self.log_file is not None:
            return "crashed"
        return "skipped"

    @property
    def n_screenshots(self) -> int:
        return sum(1 for s in self.steps if s.observation or s.after)


@dataclass
class Run:
    """A run folder read into tasks (sorted by domain, then id)."""

    path: Path
    format: str
    name: str
    tasks: list[Task] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def task(self, key: str) -> Task | None:
        for t in self.tasks:
            if t.key == key:
                return t
        return None

    def all_problems(self) -> list[Problem]:
        return self.problems + [p for t in self.tasks for p in t.problems]
