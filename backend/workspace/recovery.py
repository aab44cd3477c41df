"""Telling a sick disk from a sick database, and rebuilding the history from the run folders.

Why this is its own module: the two failures look alike from SQLite (both raise
``DatabaseError``) but call for opposite actions. A full, read-only or locked disk leaves a
healthy ``runs.db`` that must be kept and read as it is; only a database that fails
``PRAGMA quick_check`` when read-only is corrupt and may be moved aside. Each run folder mirrors
its record (``run.json``) and its metric series (``metrics.jsonl``, one point a line), so a
rebuild loses neither.
"""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

METRICS_MIRROR = "metrics.jsonl"
ACTIVE_STATUSES = ("queued", "running")
_IO_WORDS = ("disk i/o error", "disk is full", "readonly database", "read-only", "unable to open database",
             "database is locked", "locking protocol", "no space", "permission denied", "out of memory")


def is_io_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (space, write access, a lock) failed rather than the file's content."""
    if isinstance(exc, OSError):
        return True
    text = str(exc).lower()
    return any(w in text for w in _IO_WORDS)


def disk_state(path: Path) -> str | None:
    """``"read-only file system"`` or ``"disk full (N KiB free)"`` for the disk holding ``path``, else None."""
    try:
        st = os.statvfs(path)
    except (OSError, AttributeError):  # no statvfs on Windows: the SQLite message has to do
        return None
    if st.f_flag & getattr(os, "ST_RDONLY", 1):
        return "read-only file system"
    free = st.f_bavail * st.f_frsize
    if free < 256 * 1024:
        return f"disk full ({free // 1024} KiB free)"
    return None


def open_read_only(db_path: Path) -> sqlite3.Connection:
    """The database as it is, without writing a byte (not even WAL side files when they cannot be made).

    Raises ``sqlite3.DatabaseError`` when it cannot be read at all.
    """
    last: sqlite3.DatabaseError | None = None
    for query in ("mode=ro", "mode=ro&immutable=1"):  # immutable: a read-only disk where -shm cannot be created
        try:
            conn = sqlite3.connect(f"{db_path.as_uri()}?{query}", uri=True, check_same_thread=False, timeout=5)
            row = conn.execute("PRAGMA quick_check").fetchone()
            if row is None or row[0] != "ok":
                conn.close()
                raise sqlite3.DatabaseError(f"integrity check failed: {row[0] if row else 'no answer'}")
            conn.execute("SELECT count(*) FROM runs").fetchone()
            return conn
        except sqlite3.DatabaseError as exc:
            last = exc
            if not is_io_error(exc):
                raise  # the content is bad: no other way of opening will help
    assert last is not None
    raise last


def corruption_reason(db_path: Path) -> str | None:
    """Why ``db_path`` is corrupt, or None when it reads fine (or cannot be read for a disk reason)."""
    try:
        open_read_only(db_path).close()
    except sqlite3.DatabaseError as exc:
        return None if is_io_error(exc) else str(exc)
    return None


def remove_if_empty(*paths: Path) -> None:
    """Delete zero-byte files SQLite left behind when it could not write its first page."""
    for p in paths:
        try:
            if p.exists() and p.stat().st_size == 0:
                p.unlink()
        except OSError:
            pass


def append_metric(run_dir: Path, name: str, step: float | None, value: float, t: float) -> None:
    """One metric point appended to the run folder's mirror (a torn last line is skipped on rebuild)."""
    line = json.dumps({"name": name, "step": step, "value": value, "time": t}, allow_nan=True)
    with open(run_dir / METRICS_MIRROR, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def read_metrics(run_dir: Path) -> tuple[list[tuple], int]:
    """``([(name, step, value, time), ...], unreadable line count)`` from a run folder's mirror."""
    path = run_dir / METRICS_MIRROR
    if not path.exists():
        return [], 0
    points, bad = [], 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                d = json.loads(line)
                points.append((str(d["name"]), d.get("step"), float(d["value"]), d.get("time")))
            except (ValueError, KeyError, TypeError):
                bad += 1
    return points, bad


def rebuild_from_folders(conn: sqlite3.Connection, runs_dir: Path, skip_ids: set[str] | None = None
                         ) -> tuple[int, list[str]]:
    """Insert every run folder's record and metric series (except ``skip_ids``).

    Returns ``(runs recovered, reasons for what was skipped)``; an unreadable ``run.json`` is left
    where it is, untouched.
    """
    count, skipped = 0, []
    try:
        mirrors = sorted(runs_dir.glob("*/run.json"))
    except OSError as exc:
        return 0, [f"{runs_dir}: {exc}"]
    for run_json in mirrors:
        if skip_ids and run_json.parent.name in skip_ids:
            continue
        try:
            data = json.loads(run_json.read_text())
            status = data.get("status", "interrupted")
            if status in ACTIVE_STATUSES:
                status = "interrupted"
            conn.execute(
                "INSERT OR REPLACE INTO runs (id, kind, label, spec, status, device, pid, created, started,"
                " ended, result, error, traceback) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (data["id"], data["kind"], data.get("label", ""), json.dumps(data["spec"]), status,
                 data.get("device"), None, data.get("created", 0.0), data.get("started"),
                 data.get("ended"), json.dumps(data.get("result")), data.get("error"), data.get("traceback")),
            )
            for name, path in (data.get("artifacts") or {}).items():
                conn.execute("INSERT INTO artifacts VALUES (?,?,?)", (data["id"], name, path))
            points, bad = read_metrics(run_json.parent)
            conn.executemany("INSERT INTO metrics VALUES (?,?,?,?,?)", [(data["id"], *p) for p in points])
            if bad:
                skipped.append(f"{run_json.parent / METRICS_MIRROR}: {bad} unreadable line(s)")
            count += 1
        except json.JSONDecodeError as exc:
            skipped.append(f"{run_json}: not valid JSON ({exc.msg} at line {exc.lineno})")
        except KeyError as exc:
            skipped.append(f"{run_json}: no {exc.args[0]!r} field")
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            skipped.append(f"{run_json}: {exc}")
    return count, skipped


def folder_run_ids(runs_dir: Path) -> set[str]:
    """Ids of run folders that hold a ``run.json``."""
    try:
        return {p.parent.name for p in runs_dir.glob("*/run.json")}
    except OSError:
        return set()


def skipped_note(skipped: list[str]) -> str:
    """`` N mirror(s) skipped: first reasons`` for a recovery message (empty when none)."""
    if not skipped:
        return ""
    more = f" (and {len(skipped) - 3} more)" if len(skipped) > 3 else ""
    return f" {len(skipped)} mirror(s) skipped: " + "; ".join(skipped[:3]) + more + "."


def safe_replace(src: Path, dst: Path) -> bool:
    try:
        os.replace(src, dst)
        return True
    except OSError:
        return False
