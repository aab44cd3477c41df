"""Open a run folder of either format: find its task folders, read them, attach task JSONs.

A run folder is searched (a few levels deep, so an OSWorld ``<action_space>/<obs>/<model>``
root or any level below it works) for task folders; a task folder is recognised by its files.
Task definitions come from ``tasks_dir`` or, when not given, a ``tasks`` folder inside the run
or beside it (ScienceBoard's ``tasks/VM/<App>/<ID>.json``; OSWorld's
``evaluation_examples/examples/<domain>/<uuid>.json``). Definitions whose task never ran are
added as *skipped* tasks so the denominators stay honest.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

from backend.agents import osworld, scienceboard
from backend.agents.common import list_files, load_json
from backend.agents.model import Problem, Run, Task

MAX_DEPTH = 6
_SUM = re.compile(r"(\d+) total tested: (\d+) passed, (\d+) failed, (\d+) skipped, (\d+) ignored")


def find_task_dirs(root: Path) -> list[tuple[Path, str, dict[str, Path]]]:
    """``(folder, format, files)`` of every task folder under ``root`` (not descending into them)."""
    found = []
    root_depth = len(root.parts)
    for dirpath, dirnames, _ in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "tasks"
                             and d != "evaluation_examples")
        if here == root:
            continue
        names = list_files(here)
        fmt = None
        if scienceboard.is_scienceboard_dir(names):
            fmt = "scienceboard"
        elif osworld.is_osworld_dir(names):
            fmt = "osworld"
        elif "traj.jsonl" in names:
            fmt = "scienceboard" if _first_key(names["traj.jsonl"]) == "step_index" else "osworld"
        if fmt:
            found.append((here, fmt, names))
            dirnames[:] = []
        elif len(here.parts) - root_depth >= MAX_DEPTH:
            dirnames[:] = []
    return found


def _first_key(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            head = f.readline()
    except OSError:
        return None
    return "step_index" if '"step_index"' in head else "step_num" if '"step_num"' in head else None


def default_tasks_dir(root: Path) -> Path | None:
    for base in (root, *list(root.parents)[:4]):
        for rel in ("tasks", "evaluation_examples/examples"):
            if (base / rel).is_dir():
                return base / rel
    return None


def load_definitions(tasks_dir: Path, problems: list[Problem]) -> dict[tuple[str, str], dict]:
    """Task JSONs by ``(parent folder, file stem)``: ``(App, ID)`` or ``(domain, uuid)``."""
    defs: dict[tuple[str, str], dict] = {}
    for path in sorted(tasks_dir.rglob("*.json")):
        if path.stem.startswith("test_"):
            continue  # OSWorld index files (test_all.json), not tasks
        data = load_json(path, problems)
        if isinstance(data, dict):
            defs[(path.parent.name, path.stem)] = data
    return defs


def _find_upwards(start: Path, stop: Path, name: str) -> Path | None:
    cur = start
    while True:
        if (cur / name).is_file():
            return cur / name
        if cur == stop or cur.parent == cur:
            return None
        cur = cur.parent


def open_run(path: str | Path, tasks_dir: str | Path | None = None, name: str | None = None) -> Run:
    """Read the run folder ``path`` into a :class:`Run` (fast: no image is opened).

    Raises FileNotFoundError naming the folder when it does not exist or holds no task folder.
    Bad content inside (malformed lines, missing files) becomes ``Problem`` entries.
    """
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"run folder {root} does not exist or is not a folder")
    dirs = find_task_dirs(root)
    if not dirs:
        raise FileNotFoundError(f"{root} holds no ScienceBoard or OSWorld task folder "
                                "(traj.jsonl, result.out/result.txt or step screenshots)")
    formats = Counter(fmt for _, fmt, _ in dirs)
    run = Run(root, formats.most_common(1)[0][0] if len(formats) == 1 else "mixed", name or root.name)
    tdir = Path(tasks_dir) if tasks_dir else default_tasks_dir(root)
    defs = load_definitions(tdir, run.problems) if tdir and tdir.is_dir() else {}
    if tasks_dir and not Path(tasks_dir).is_dir():
        raise FileNotFoundError(f"tasks folder {tasks_dir} does not exist")
    run.meta["tasks_dir"] = str(tdir) if defs else None
    budgets: dict[Path | None, int | None] = {}
    for folder, fmt, _names in dirs:
        domain, task_id = folder.parent.name, folder.name
        definition = defs.get((domain, task_id))
        if fmt == "scienceboard":
            task = scienceboard.read_task(folder, domain, task_id, definition)
        else:
            args = _find_upwards(folder.parent, root.parent, "args.json")
            if args not in budgets:
                data = load_json(args, run.problems) if args else None
                budgets[args] = data.get("max_steps") if isinstance(data, dict) else None
                if isinstance(data, dict):
                    run.meta.setdefault("args", data)
            task = osworld.read_task(folder, domain, task_id, definition, budgets[args])
        run.tasks.append(task)
    seen = {(t.domain, t.task_id) for t in run.tasks}
    ran_domains = {t.domain for t in run.tasks}
    for (domain, task_id), definition in defs.items():
        if (domain, task_id) not in seen and domain in ran_domains:
            run.tasks.append(Task(domain, task_id, root / domain / task_id, run.format, definition=definition,
                                  instruction=definition.get("instruction"), budget=definition.get("steps")))
    run.tasks.sort(key=lambda t: (t.domain, t.task_id))
    _read_summary(root, run)
    return run


def _read_summary(root: Path, run: Run) -> None:
    """ScienceBoard's ``SUM@<stamp>.log`` counts, kept to cross-check the recomputed ones."""
    sums = sorted(p for p in list_files(root) if p.startswith("SUM@"))
    if not sums:
        return
    text = (root / sums[-1]).read_text(encoding="utf-8", errors="replace")
    found = _SUM.findall(text)
    if found:
        total, passed, failed, skipped, ignored = (int(v) for v in found[-1])
        run.meta["sum_log"] = {"file": sums[-1], "total": total, "passed": passed, "failed": failed,
                               "skipped": skipped, "ignored": ignored}
