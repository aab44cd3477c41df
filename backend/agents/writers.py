"""Write recorded episodes as ScienceBoard and OSWorld run folders.

Used by the sample-run generator (a scripted agent driving a real Qt program) and by the
benchmark (synthetic runs of benchmark size). Writing the formats ourselves keeps the readers
honest: the same episode read back from both layouts must give the same steps and scores.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from backend.workspace.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text


@dataclass
class RecordedAction:
    logged: Any                 # as the agent wrote it (ScienceBoard logs this: relative/tag kept)
    executed: Any               # as executed (absolute pixels; OSWorld logs this)
    after_png: bytes | None = None


@dataclass
class RecordedStep:
    obs_png: bytes | None
    a11y_tsv: str | None
    response: str
    actions: list[RecordedAction] = field(default_factory=list)


@dataclass
class Episode:
    domain: str
    task_id: str
    instruction: str
    budget: int
    initial_png: bytes | None = None
    steps: list[RecordedStep] = field(default_factory=list)
    passed: bool | None = None          # ScienceBoard's binary result (None: crashed)
    score: float | None = None          # OSWorld metric (may be partial)
    crash: str | None = None            # error text when the episode crashed
    stop_type: str | None = None
    drop_screenshots: set[int] = field(default_factory=set)
    os_domain: str = ""
    uuid: str = ""
    start: datetime = field(default_factory=lambda: datetime(2025, 6, 2, 9, 30, 0))


def _sb_stamp(t: datetime) -> str:
    return t.strftime("%y%m%d%H%M%S")


def _log_line(ep: Episode, t: datetime, level: str, where: str, msg: str) -> str:
    return (f"[{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} {level} ID={ep.domain}/{ep.task_id} {where}] "
            f"(sci) {msg}\n")


def write_scienceboard(root: Path, episodes: list[Episode]) -> None:
    """``<root>/<App>/<ID>/`` folders plus the run's ``SUM@<stamp>.log``."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    last = None
    for ep in episodes:
        folder = Path(root) / ep.domain / ep.task_id
        t = ep.start
        log = [_log_line(ep, t, "INFO", "manager::__call__@manager.py:88", f"Task: {ep.instruction}"),
               _log_line(ep, t, "INFO", "task::init@task.py:141", "Starting initialization."),
               _log_line(ep, t, "INFO", "task::predict@task.py:170", "Starting prediction.")]
        traj = []
        for i, st in enumerate(ep.steps):
            t += timedelta(seconds=7)
            stamp = _sb_stamp(t)
            rec: dict[str, Any] = {"step_index": i, "timestamp": stamp,
                                   "actions": [a.logged for a in st.actions]}
            if st.obs_png is not None:
                name = f"step_{i}@{stamp}.png"
                rec["screenshot"] = name
                if i not in ep.drop_screenshots:
                    atomic_write_bytes(folder / name, st.obs_png)
            if st.a11y_tsv is not None:
                name = f"step_{i}@{stamp}.txt"
                rec["a11y_tree"] = name
                atomic_write_text(folder / name, st.a11y_tsv)
            log.append(_log_line(ep, t, "INFO", "agent::__call__@agent.py:212",
                                 f"Response {i + 1}/{ep.budget}:\n{st.response}"))
            if st.actions or ep.crash is None or i < len(ep.steps) - 1:
                traj.append(json.dumps(rec, ensure_ascii=False))
        t += timedelta(seconds=3)
        if ep.crash:
            log.append(_log_line(ep, t, "ERROR", "manager::__call__@manager.py:103",
                                 f"Exception raised during prediction.\n{ep.crash}"))
            counts["skipped"] += 1
        else:
            log.append(_log_line(ep, t, "INFO", "task::eval@task.py:201",
                                 f"Starting evaluation with stop type of {ep.stop_type or 'TIMEOUT'}."))
            if not ep.passed:
                log.append(_log_line(ep, t, "INFO", "task::eval@task.py:215", "Evaluation failed at stop type."
                                     if ep.stop_type in (None, "TIMEOUT") else "Evaluation failed at info of display."))
            log.append(_log_line(ep, t, "INFO", "task::__call__@task.py:230",
                                 f"Task finished with passed={'TRUE' if ep.passed else 'FALSE'}."))
            atomic_write_text(folder / "result.out", "1" if ep.passed else "0")
            counts["passed" if ep.passed else "failed"] += 1
        atomic_write_text(folder / "traj.jsonl", "".join(line + "\n" for line in traj))
        atomic_write_text(folder / f"{_sb_stamp(ep.start)}.log", "".join(log))
        last = t
    if last is not None:
        total = sum(counts.values())
        atomic_write_text(Path(root) / f"SUM@{_sb_stamp(last)}.log",
                          f"{total} total tested: {counts['passed']} passed, {counts['failed']} failed, "
                          f"{counts['skipped']} skipped, 0 ignored.\n")


def write_osworld(root: Path, episodes: list[Episode], args: dict[str, Any]) -> None:
    """``<root>/<domain>/<uuid>/`` folders (one traj line per executed action) and ``args.json``."""
    atomic_write_json(Path(root) / "args.json", args)
    for ep in episodes:
        folder = Path(root) / (ep.os_domain or ep.domain) / (ep.uuid or ep.task_id)
        t = ep.start
        if ep.initial_png is not None:
            atomic_write_bytes(folder / "step_0.png", ep.initial_png)
        lines = []
        for i, st in enumerate(ep.steps):
            for a in st.actions:
                for executed in (a.executed if isinstance(a.executed, list) else [a.executed]):
                    t += timedelta(seconds=3, microseconds=123457)
                    stamp = t.strftime("%Y%m%d@%H%M%S%f")
                    name = f"step_{i + 1}_{stamp}.png"
                    info = {"done": True} if executed == "DONE" else {"fail": True} if executed == "FAIL" else {}
                    lines.append({"step_num": i + 1, "action_timestamp": stamp, "action": executed,
                                  "response": st.response, "reward": 0, "done": bool(info), "info": info,
                                  "screenshot_file": name})
                    if a.after_png is not None and i not in ep.drop_screenshots:
                        atomic_write_bytes(folder / name, a.after_png)
        if ep.crash:
            lines.append({"Error": f"Time limit exceeded in {ep.os_domain or ep.domain}/{ep.uuid}: "
                                   + ep.crash.strip().splitlines()[-1]})
        else:
            atomic_write_text(folder / "result.txt", f"{ep.score if ep.score is not None else 0.0}\n")
        atomic_write_text(folder / "traj.jsonl", "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
        atomic_write_text(folder / "instruction.txt", ep.instruction + "\n")
