"""Runs on disk: ``<workspace>/runs.db`` (SQLite) plus ``<workspace>/runs/<run_id>/``.

Each run folder also carries ``run.json`` (the spec, status and result), written atomically at
every status change, so the database can always be rebuilt from the folders: a corrupt or
missing database is moved aside and rebuilt, never silently emptied.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from backend.jobs import events as ev
from backend.jobs.runner import new_run_id
from backend.jobs.spec import JobSpec
from backend.workspace.atomic import atomic_write_json
from backend.workspace.wal_guard import wal_identity

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    label TEXT,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    device TEXT,
    pid INTEGER,
    created REAL NOT NULL,
    started REAL,
    ended REAL,
    result TEXT,
    error TEXT,
    traceback TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    step REAL,
    value REAL,
    time REAL
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id, name);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL
);
"""

ACTIVE_STATUSES = ("queued", "running")


def default_workspace_dir() -> Path:
    """The user's data folder (``BENCHTOP_WORKSPACE`` overrides it)."""
    env = os.environ.get("BENCHTOP_WORKSPACE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("Benchtop", appauthor=False)) / "workspace"


@dataclass
class RunRecord:
    id: str
    kind: str
    label: str
    spec: JobSpec
    status: str
    device: str | None
    created: float
    started: float | None
    ended: float | None
    result: dict | None
    error: str | None
    traceback: str | None
    run_dir: Path
    artifacts: dict[str, str] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        if self.started is None:
            return None
        return (self.ended or time.time()) - self.started

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "label": self.label, "spec": self.spec.to_dict(),
            "status": self.status, "device": self.device, "created": self.created,
            "started": self.started, "ended": self.ended, "duration": self.duration,
            "result": self.result, "error": self.error, "traceback": self.traceback,
            "run_dir": str(self.run_dir), "artifacts": self.artifacts,
        }


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Workspace:
    """A folder of runs. Safe to share between threads of one process, and between processes.

    ``recovery_message`` is set when opening found a problem (a corrupt or missing database) and
    recovered from it; the GUI and the CLI show it to the user.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.runs_dir = self.root / "runs"
        self.db_path = self.root / "runs.db"
        self.recovery_message: str | None = None
        self._lock = threading.RLock()
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self._conn = self._open()
        self._mark_interrupted()

    # -- opening and recovery ---------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, check_same_thread=False, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(SCHEMA)
        return conn

    def _open(self) -> sqlite3.Connection:
        existed = self.db_path.exists()
        try:
            conn = self._connect()
            row = conn.execute("PRAGMA quick_check").fetchone()
            if row is None or row[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {row[0] if row else 'no answer'}")
        except sqlite3.DatabaseError as exc:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            backup = self.db_path.with_name(f"runs.db.corrupt-{stamp}")
            try:
                conn.close()  # type: ignore[possibly-undefined]
            except Exception:
                pass
            os.replace(self.db_path, backup)
            for suffix in ("-wal", "-shm"):
                side = Path(str(self.db_path) + suffix)
                if side.exists():
                    os.replace(side, Path(str(backup) + suffix))
            conn = self._connect()
            n = self._rebuild_from_folders(conn)
            self.recovery_message = (
                f"The run database {self.db_path} could not be read ({exc}). It was moved to {backup} "
                f"and {n} run(s) were recovered from their folders in {self.runs_dir}."
            )
            return conn
        if not existed and any(self.runs_dir.iterdir()):
            n = self._rebuild_from_folders(conn)
            self.recovery_message = (
                f"The run database {self.db_path} was missing; {n} run(s) were recovered from their folders."
            )
        return conn

    def _rebuild_from_folders(self, conn: sqlite3.Connection) -> int:
        count = 0
        for run_json in sorted(self.runs_dir.glob("*/run.json")):
            try:
                data = json.loads(run_json.read_text())
                status = data.get("status", "interrupted")
                if status in ACTIVE_STATUSES:
                    status = "interrupted"
                conn.execute(
                    "INSERT OR REPLACE INTO runs (id, kind, label, spec, status, device, pid, created, started,"
                    " ended, result, error, traceback) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        data["id"], data["kind"], data.get("label", ""), json.dumps(data["spec"]), status,
                        data.get("device"), None, data.get("created", 0.0), data.get("started"),
                        data.get("ended"), json.dumps(data.get("result")), data.get("error"), data.get("traceback"),
                    ),
                )
                for name, path in (data.get("artifacts") or {}).items():
                    conn.execute("INSERT INTO artifacts VALUES (?,?,?)", (data["id"], name, path))
                count += 1
            except (OSError, ValueError, KeyError):
                continue  # an unreadable run.json is left where it is, untouched
        return count

    def _mark_interrupted(self) -> None:
        """Runs left 'running' by a process that no longer exists become 'interrupted'."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, pid FROM runs WHERE status IN (?, ?)", ACTIVE_STATUSES
            ).fetchall()
            for run_id, pid in rows:
                if pid == os.getpid() or _pid_alive(pid):
                    continue
                self._conn.execute(
                    "UPDATE runs SET status='interrupted', ended=COALESCE(ended, ?),"
                    " error=COALESCE(error, 'the process running this job ended before it finished') WHERE id=?",
                    (time.time(), run_id),
                )
                self._write_run_json(run_id)

    # -- the connection, guarded against an orphaned write-ahead log (see wal_guard) --------
    @property
    def _conn(self) -> sqlite3.Connection:
        with self._lock:
            if self._wal_id is not None and wal_identity(self.db_path) != self._wal_id:
                try:  # closing first releases this process's mapping of the stale -shm file
                    self._db.close()
                except sqlite3.Error:
                    pass
                self._conn = self._connect()
                self.wal_reopened += 1
            return self._db

    @_conn.setter
    def _conn(self, conn: sqlite3.Connection) -> None:
        self._db = conn
        self._wal_id = wal_identity(self.db_path)
        self.wal_reopened = getattr(self, "wal_reopened", 0)

    def close(self) -> None:
        with self._lock:
            self._wal_id = None  # no reopening on the way out
            self._db.close()

    # -- writing ----------------------------------------------------------------------------
    def create_run(self, spec: JobSpec) -> tuple[str, Path]:
        run_id = new_run_id(spec.kind)
        run_dir = self.runs_dir / run_id
        run_dir.mkdir(parents=True, exist_ok=False)
        with self._lock:
            self._conn.execute(
                "INSERT INTO runs (id, kind, label, spec, status, pid, created) VALUES (?,?,?,?,?,?,?)",
                (run_id, spec.kind, spec.label, json.dumps(spec.to_dict(), default=str), "queued", os.getpid(), time.time()),
            )
            self._write_run_json(run_id)
        return run_id, run_dir

    def record_event(self, event: ev.JobEvent) -> None:
        """Persist what matters of an event (status, metrics, artifacts, result, error)."""
        rid, data = event.run_id, event.data
        with self._lock:
            c = self._conn
            if event.type == ev.STARTED:
                c.execute(
                    "UPDATE runs SET status='running', started=?, device=?, pid=? WHERE id=?",
                    (event.time, data.get("device"), data.get("pid", os.getpid()), rid),
                )
                self._write_run_json(rid)
            elif event.type == ev.METRIC:
                c.execute("INSERT INTO metrics VALUES (?,?,?,?,?)", (rid, data["name"], data.get("step"), data["value"], event.time))
            elif event.type == ev.ARTIFACT:
                c.execute("INSERT INTO artifacts VALUES (?,?,?)", (rid, data["name"], data["path"]))
            elif event.type == ev.RESULT:
                c.execute("UPDATE runs SET result=? WHERE id=?", (json.dumps(data.get("result"), default=str), rid))
            elif event.type == ev.ERROR:
                c.execute("UPDATE runs SET error=?, traceback=? WHERE id=?", (data.get("message"), data.get("traceback"), rid))
            elif event.type == ev.FINISHED:
                c.execute("UPDATE runs SET status=?, ended=? WHERE id=?", (data["status"], event.time, rid))
                self._write_run_json(rid)

    def _write_run_json(self, run_id: str) -> None:
        record = self._get(run_id)
        if record is not None and record.run_dir.exists():
            atomic_write_json(record.run_dir / "run.json", record.to_dict())

    # -- reading ----------------------------------------------------------------------------
    def _row_to_record(self, row: tuple) -> RunRecord:
        (rid, kind, label, spec, status, device, _pid, created, started, ended, result, error, tb) = row
        arts = dict(self._conn.execute("SELECT name, path FROM artifacts WHERE run_id=?", (rid,)).fetchall())
        return RunRecord(
            id=rid, kind=kind, label=label or "", spec=JobSpec.from_dict(json.loads(spec)), status=status,
            device=device, created=created, started=started, ended=ended,
            result=json.loads(result) if result else None, error=error, traceback=tb,
            run_dir=self.runs_dir / rid, artifacts=arts,
        )

    def _get(self, run_id: str) -> RunRecord | None:
        row = self._conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        return self._row_to_record(row) if row else None

    def get_run(self, run_id: str) -> RunRecord:
        """A run by id, or by a unique prefix of its id. Raises KeyError naming the id."""
        with self._lock:
            rec = self._get(run_id)
            if rec is not None:
                return rec
            rows = self._conn.execute("SELECT * FROM runs WHERE id LIKE ?", (run_id + "%",)).fetchall()
            if len(rows) == 1:
                return self._row_to_record(rows[0])
        if rows:
            raise KeyError(f"run id {run_id!r} is ambiguous ({len(rows)} runs start with it)")
        raise KeyError(f"no run {run_id!r} in workspace {self.root}")

    def list_runs(self, kind: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Newest first."""
        q, args = "SELECT * FROM runs", []
        if kind:
            q += " WHERE kind=?"
            args.append(kind)
        q += " ORDER BY created DESC"
        if limit:
            q += f" LIMIT {int(limit)}"
        with self._lock:
            return [self._row_to_record(r) for r in self._conn.execute(q, args).fetchall()]

    def metrics(self, run_id: str) -> dict[str, list[tuple[float | None, float]]]:
        """Metric series of a run: name -> [(step, value), ...] in the order recorded."""
        out: dict[str, list[tuple[float | None, float]]] = {}
        with self._lock:
            for name, step, value in self._conn.execute(
                "SELECT name, step, value FROM metrics WHERE run_id=? ORDER BY rowid", (run_id,)
            ):
                out.setdefault(name, []).append((step, value))
        return out

    def delete_run(self, run_id: str) -> None:
        import shutil

        rec = self.get_run(run_id)
        with self._lock:
            for table, col in (("runs", "id"), ("metrics", "run_id"), ("artifacts", "run_id")):
                self._conn.execute(f"DELETE FROM {table} WHERE {col}=?", (rec.id,))
        shutil.rmtree(rec.run_dir, ignore_errors=True)
