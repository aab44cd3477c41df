"""ScienceBoard task folders: ``<App>/<TaskID>/{traj.jsonl, step_<i>@<stamp>.png|.txt,
result.out, <stamp>.log}``.

The screenshot of step i is what the model saw *before* acting, so it is the step's
observation and step i+1's image is its "after". ``result.out`` is absent when the task
crashed; the task log then says why. Model responses are only in the log
(``Response <i>/<N>:`` followed by the text), where N is the step budget.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from backend.agents.actions import parse_action
from backend.agents.common import iter_jsonl, list_files, read_score
from backend.agents.model import Problem, Step, Task

LOG_NAME = re.compile(r"^\d{12}\.log$")
STEP_FILE = re.compile(r"^step_\d+@\d+\.(png|txt)$")
_LINE = re.compile(r"^\[(?P<time>.+?) (?P<level>[A-Z]+) ID=(?P<id>\S+) (?P<where>\S+)\] "
                   r"\((?P<logger>[^)]*)\) (?P<msg>.*)$")
_RESPONSE = re.compile(r"^Response(?: of (?P<agent>\w+))? (?P<i>\d+)/(?P<n>\d+):\s*(?P<rest>.*)$", re.S)


def is_scienceboard_dir(names: dict[str, Path]) -> bool:
    return "result.out" in names or any(LOG_NAME.match(n) or STEP_FILE.match(n) for n in names)


def parse_log(text: str) -> dict[str, Any]:
    """Instruction, responses by step, budget, stop type, pass flag and error text of a task log."""
    records: list[list[str]] = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            records.append([m.group("level"), m.group("msg")])
        elif records:
            records[-1][1] += "\n" + line
    info: dict[str, Any] = {"responses": {}, "budget": None, "instruction": None, "stop_type": None,
                            "passed": None, "errors": []}
    for level, msg in records:
        r = _RESPONSE.match(msg)
        if r:
            key = int(r.group("i")) - 1
            label = f"[{r.group('agent')}] " if r.group("agent") else ""
            prev = info["responses"].get(key)
            body = label + r.group("rest").strip()
            info["responses"][key] = body if prev is None else prev + "\n\n" + body
            info["budget"] = int(r.group("n"))
        elif msg.startswith("Task: "):
            info["instruction"] = msg[6:].strip()
        elif msg.startswith("Starting evaluation with stop type of "):
            info["stop_type"] = msg.rsplit(" ", 1)[-1].rstrip(".")
        elif msg.startswith("Task finished with passed="):
            info["passed"] = msg.split("=", 1)[1].strip().rstrip(".").upper() == "TRUE"
        elif level in ("ERROR", "CRITICAL") or msg.startswith("Traceback"):
            info["errors"].append(msg.strip())
    return info


def read_task(folder: Path, domain: str, task_id: str, definition: dict | None = None) -> Task:
    """One ScienceBoard task folder as a :class:`Task` (never raises on bad content)."""
    names = list_files(folder)
    task = Task(domain, task_id, folder, "scienceboard", definition=definition)
    problems = task.problems
    logs = sorted(n for n in names if LOG_NAME.match(n))
    log: dict[str, Any] = {"responses": {}, "errors": []}
    if logs:
        task.log_file = names[logs[-1]]
        log = parse_log(task.log_file.read_text(encoding="utf-8", errors="replace"))
        task.instruction, task.budget, task.stop_type = log["instruction"], log["budget"], log["stop_type"]
    if definition:
        task.instruction = definition.get("instruction") or task.instruction
        task.budget = definition.get("steps") or task.budget
    traj = names.get("traj.jsonl")
    pointer: tuple[float, float] | None = None
    if traj is not None:
        for lineno, rec in iter_jsonl(traj, problems):
            idx = rec.get("step_index")
            if not isinstance(idx, int):
                problems.append(Problem(str(traj), lineno, "no integer 'step_index'"))
                idx = len(task.steps)
            raw = rec.get("actions", [])
            if not isinstance(raw, list):
                problems.append(Problem(str(traj), lineno, "'actions' is not a list"))
                raw = [raw]
            step = Step(len(task.steps), idx, lineno, raw_actions=raw, timestamp=rec.get("timestamp"),
                        response=log["responses"].get(idx))
            for r in raw:
                acts = parse_action(r, pointer)
                step.actions.extend(acts)
                for a in acts:
                    if a.coords == "absolute" and a.x is not None and a.y is not None:
                        pointer = (a.x, a.y)
            shot = rec.get("screenshot")
            if shot:
                step.screenshot_name = str(shot)
                step.observation = names.get(Path(str(shot)).name)
                step.screenshot_missing = step.observation is None
                if step.screenshot_missing:
                    problems.append(Problem(str(traj), lineno, f"screenshot {shot} is missing"))
            text = rec.get("a11y_tree") or rec.get("textual")
            if text:
                step.a11y = names.get(Path(str(text)).name)
            task.steps.append(step)
    # an observation saved after the last logged step: the model was asked but never answered
    last = max((s.number for s in task.steps if s.number is not None), default=-1)
    for name in sorted(n for n in names if STEP_FILE.match(n) and n.endswith(".png")):
        num = int(name[5:name.index("@")])
        if num > last:
            task.steps.append(Step(len(task.steps), num, None, observation=names[name],
                                   extra={"unlogged": "screenshot without a traj.jsonl line"}))
            last = num
    for prev, nxt in zip(task.steps, task.steps[1:]):
        prev.after = nxt.observation
    if "result.out" in names:
        task.score = read_score(names["result.out"], problems)
    if task.score is None and (task.steps or task.log_file):
        task.crashed = True
        err = log["errors"][-1] if log["errors"] else None
        task.crash = err or "no result.out: the task did not finish (crashed or interrupted)"
        if task.steps and err:
            task.steps[-1].error = err
    return task
