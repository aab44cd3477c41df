"""OSWorld result folders: ``<domain>/<uuid>/{traj.jsonl, step_<n>_<stamp>.png, result.txt}``.

Each traj line is one *executed action* (several may share ``step_num``) and its screenshot
is the screen *after* it, so a step's observation is the previous line's image (or the
initial ``step_0``/``initial_state.png``). A crash writes ``{"Error": ...}``; a task stopped
by the step limit or a crash has no ``result.txt`` and counts as crashed, not as absent.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from backend.agents.actions import parse_action
from backend.agents.common import iter_jsonl, list_files, read_score
from backend.agents.model import Problem, Step, Task

STEP_PNG = re.compile(r"^step_(\d+)_.*\.png$")


def is_osworld_dir(names: dict[str, Path]) -> bool:
    return "result.txt" in names or any(STEP_PNG.match(n) for n in names)


def _initial(names: dict[str, Path]) -> Path | None:
    for n in ("initial_state.png", "step_0.png"):
        if n in names:
            return names[n]
    zero = sorted(n for n in names if n.startswith("step_0_") and n.endswith(".png"))
    return names[zero[0]] if zero else None


def read_task(folder: Path, domain: str, task_id: str, definition: dict | None = None,
              budget: int | None = None) -> Task:
    """One OSWorld task folder as a :class:`Task` (never raises on bad content)."""
    names = list_files(folder)
    task = Task(domain, task_id, folder, "osworld", definition=definition, budget=budget)
    problems = task.problems
    task.initial = _initial(names)
    if definition:
        task.instruction = definition.get("instruction")
    if "instruction.txt" in names:
        task.instruction = names["instruction.txt"].read_text(encoding="utf-8", errors="replace").strip()
    traj = names.get("traj.jsonl")
    pointer: tuple[float, float] | None = None
    previous = task.initial
    if traj is not None:
        for lineno, rec in iter_jsonl(traj, problems):
            if "Error" in rec or ("error" in rec and "step_num" not in rec):
                msg = str(rec.get("Error", rec.get("error")))
                task.crashed, task.crash = True, msg
                task.steps.append(Step(len(task.steps), None, lineno, observation=previous, error=msg))
                continue
            num = rec.get("step_num")
            if not isinstance(num, int):
                problems.append(Problem(str(traj), lineno, "no integer 'step_num'"))
            raw = rec.get("action")
            step = Step(len(task.steps), num if isinstance(num, int) else None, lineno, raw_actions=[raw],
                        response=rec.get("response"), timestamp=rec.get("action_timestamp"),
                        observation=previous)
            step.actions = parse_action(raw, pointer)
            for a in step.actions:
                if a.coords == "absolute" and a.x is not None and a.y is not None:
                    pointer = (a.x, a.y)
            for k in ("reward", "done", "info", "natural_language_action"):
                if k in rec:
                    step.extra[k] = rec[k]
            shot = rec.get("screenshot_file")
            if shot:
                step.screenshot_name = str(shot)
                step.after = names.get(Path(str(shot)).name)
                step.screenshot_missing = step.after is None
                if step.screenshot_missing:
                    problems.append(Problem(str(traj), lineno, f"screenshot {shot} is missing"))
            if step.response is None and isinstance(raw, dict):
                step.response = json.dumps(raw)
            previous = step.after if step.after is not None else previous
            task.steps.append(step)
        kinds = [a.kind for s in task.steps for a in s.actions]
        if kinds and kinds[-1] in ("done", "fail"):
            task.stop_type = kinds[-1].upper()
    if "result.txt" in names:
        task.score = read_score(names["result.txt"], problems)
    if task.score is None and task.steps and not task.crashed:
        task.crashed = True
        task.crash = "no result.txt: the task did not finish (crashed, stopped or out of steps)"
    return task
