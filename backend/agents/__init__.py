"""Agent replay: read computer-using-agent runs (ScienceBoard, OSWorld), parse their actions,
score them and export reports. Plain Python; the Qt panel lives in ``app/panels/replay.py``.

Entry points: :func:`open_run` (a run folder -> :class:`Run`), :func:`parse_action`,
:func:`aggregate`, :func:`export_html`.
"""
from backend.agents.model import Action, Problem, Run, Step, Task
from backend.agents.actions import parse_action, parse_pyautogui, parse_computer13
from backend.agents.a11y import A11yNode, element_at, parse_a11y
from backend.agents.reader import open_run
from backend.agents.aggregate import aggregate, compare_runs

__all__ = [
    "Action", "Problem", "Run", "Step", "Task", "parse_action", "parse_pyautogui", "parse_computer13",
    "A11yNode", "element_at", "parse_a11y", "open_run", "aggregate", "compare_runs",
]
