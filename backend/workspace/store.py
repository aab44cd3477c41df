"""Runs on disk: ``<workspace>/runs.db`` (SQLite) plus ``<workspace>/runs/<run_id>/``.

Each run folder also carries ``run.json`` (the spec, status and result), written atomically at
every status change, and ``metrics.jsonl`` (every metric point), so the database can always be
rebuilt from the folders: a corrupt database (one that fails ``PRAGMA quick_check`` when opened
read-only) is moved aside and rebuilt, a missing one rebuilt, never silently emptied. A healthy
database on a full, read-only or locked disk is never moved: it is read as it is and the
workspace refuses new runs with one line (:class:`WorkspaceReadOnly`).
"""
from __future__ import annotations

import json
import os
import shutil
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
from backend.workspace import recovery as rc
from backend.workspace.atomic import atomic_write_json
from backend.workspace.recovery import ACTIVE_STATUSES
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


class WorkspaceReadOnly(PermissionError):
    """The workspace cannot record anything now (disk full, read-only, locked); its history still reads."""


class Workspace:
    """A folder of runs. Safe to share between threads of one process, and between processes.

    ``recovery_message`` is set when opening found a problem and coped with it (a corrupt or
    missing database rebuilt from the run folders, or a full / read-only disk); the GUI and the
    CLI show it to the user. ``read_only`` holds the reason when nothing can be recorded: the
    history is then read from the database as it is (or, when even that fails, rebuilt in memory
    from the run folders), and starting a run raises :class:`WorkspaceReadOnly`.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.runs_dir = self.root / "runs"
        self.db_path = self.root / "runs.db"
        self.recovery_message: str | None = None
        self.read_only: str | None = None
        self._lock = threading.RLock()
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if not self.runs_dir.is_dir():
                raise WorkspaceReadOnly(
                    f"cannot create workspace folder {self.runs_dir}: {exc.strerror or exc}") from exc
        self._conn = self._open()
        if self.read_only is None:
            self._mark_interrupted()

    # -- opening and recovery ---------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, check_same_thread=False, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            row = conn.execute("PRAGMA quick_check").fetchone()
            if row is None or row[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {row[0] if row else 'no answer'}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _side_files(self, base: Path | None = None) -> list[Path]:
        base = base or self.db_path
        return [base, Path(str(base) + "-wal"), Path(str(base) + "-shm")]

    def _open(self) -> sqlite3.Connection:
        try:
            size = self.db_path.stat().st_size if self.db_path.exists() else None
        except OSError:
            size = None
        if size == 0:  # left by an older Benchtop on a full disk: as good as missing
            rc.remove_if_empty(*self._side_files())
            if self.db_path.exists():
                return self._open_degraded("the database file is empty and cannot be replaced")
        had_db = size not in (None, 0)
        try:
            conn = self._connect()
        except sqlite3.DatabaseError as exc:
            if not had_db:
                rc.remove_if_empty(*self._side_files())  # never leave a zero-byte runs.db behind
                return self._open_degraded(str(exc))
            reason = None if rc.is_io_error(exc) else rc.corruption_reason(self.db_path)
            if reason is None:  # healthy file on a sick disk: keep it, read it as it is
                return self._open_degraded(str(exc))
            return self._replace_corrupt(reason)
        except OSError as exc:
            rc.remove_if_empty(*self._side_files())
            return self._open_degraded(exc.strerror or str(exc))
        self._reconcile(conn, had_db)
        return conn

    def _replace_corrupt(self, reason: str) -> sqlite3.Connection:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = self.db_path.with_name(f"runs.db.corrupt-{stamp}")
        if not rc.safe_replace(self.db_path, backup):
            return self._open_degraded(f"corrupt ({reason}) and cannot be moved aside")
        for side, moved in zip(self._side_files()[1:], self._side_files(backup)[1:]):
            if side.exists():
                rc.safe_replace(side, moved)
        try:
            conn = self._connect()
        except (sqlite3.DatabaseError, OSError) as exc:
            rc.remove_if_empty(*self._side_files())
            conn = self._open_degraded(f"{exc}; the corrupt database was moved to {backup}")
            return conn
        n, skipped = rc.rebuild_from_folders(conn, self.runs_dir)
        self.recovery_message = (
            f"The run database {self.db_path} could not be read ({reason}). It was moved to {backup} "
            f"and {n} run(s) were recovered from their folders in {self.runs_dir}.{rc.skipped_note(skipped)}"
        )
        return conn

    def _reconcile(self, conn: sqlite3.Connection, had_db: bool) -> None:
        """Runs whose folder holds a ``run.json`` but which the database lacks are read back in."""
        on_disk = rc.folder_run_ids(self.runs_dir)
        if not on_disk:
            return
        known = {r[0] for r in conn.execute("SELECT id FROM runs")}
        missing = on_disk - known
        if not missing:
            return
        try:
            n, skipped = rc.rebuild_from_folders(conn, self.runs_dir, skip_ids=on_disk - missing)
        except sqlite3.DatabaseError as exc:  # the disk filled up while writing: read-only from here
            self.read_only = str(exc)
            self.recovery_message = f"workspace {self.root}: could not recover runs from their folders ({exc})."
            return
        what = "was missing" if not had_db else f"lacked {len(missing)} run(s) found in {self.runs_dir}"
        self.recovery_message = (
            f"The run database {self.db_path} {what}; {n} run(s) were recovered from their folders."
            f"{rc.skipped_note(skipped)}"
        )

    def _open_degraded(self, reason: str) -> sqlite3.Connection:
        """Read-only: the database as it is, else an in-memory copy rebuilt from the run folders."""
        state = rc.disk_state(self.root)
        reason = f"{state}: {reason}" if state else reason
        self.read_only = reason
        source = f"read from {self.db_path} as it is"
        try:
            conn = rc.open_read_only(self.db_path) if self.db_path.exists() else None
        except sqlite3.DatabaseError:
            conn = None
        note = ""
        on_disk = rc.folder_run_ids(self.runs_dir)
        missing = on_disk
        if conn is not None:
            missing = on_disk - {r[0] for r in conn.execute("SELECT id FROM runs")}
        if conn is None or missing:
            # an in-memory copy: the database's rows (if any) plus the runs only the folders know
            # (a read-only disk may hide the last writes in a WAL file it cannot open)
            mem = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            if conn is not None:
                conn.backup(mem)
                conn.close()
            else:
                mem.executescript(SCHEMA)
            n, skipped = rc.rebuild_from_folders(mem, self.runs_dir, skip_ids=on_disk - missing)
            source = (f"{n} run(s) read from their folders" if conn is None
                      else f"{source}, plus {n} run(s) only their folders knew")
            conn, note = mem, rc.skipped_note(skipped)
        self.recovery_message = (
            f"workspace {self.root} cannot be written ({reason}): history {source}, nothing moved or "
            f"changed; new runs cannot be recorded until it can be written again.{note}"
        )
        return conn

    def _check_writable(self) -> None:
        if self.read_only is not None:
            raise WorkspaceReadOnly(
                f"workspace {self.root} cannot be written ({self.read_only}): cannot record a run; "
                "free some space or pass --workspace DIR"
            )

    def _mark_interrupted(self) -> None:
        """Runs left 'running' by a process that no longer exists become 'interrupted'."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, pid FROM runs WHERE status IN (?, ?)", ACTIVE_STATUSES
            ).fetchall()
            for run_id, pid in rows:
                if pid == os.getpid() or _pid_alive(pid):
                    continue
                try:
                    self._conn.execute(
                        "UPDATE runs SET status='interrupted', ended=COALESCE(ended, ?),"
                        " error=COALESCE(error, 'the process running this job ended before it finished') WHERE id=?",
                        (time.time(), run_id),
                    )
                    self._write_run_json(run_id)
                except (sqlite3.DatabaseError, OSError) as exc:  # a full disk: the marks wait for the next open
                    if not rc.is_io_error(exc):
                        raise
                    return

    # -- the connection, guarded against an orphaned write-ahead log (see wal_guard) --------
    @property
    def _conn(self) -> sqlite3.Connection:
        with self._lock:
            if self._wal_id is not None and wal_identity(self.db_path) != self._wal_id:
                try:  # closing first releases this process's mapping of the stale -shm file
                    self._db.close()
                except sqlite3.Error:
                    pass
                self._conn = self._open()  # handles a sick disk the way opening does
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
        """Record a new queued run and make its folder. Raises :class:`WorkspaceReadOnly` (one
        line naming the workspace) when the disk is full or read-only."""
        self._check_writable()
        run_id = new_run_id(spec.kind)
        run_dir = self.runs_dir / run_id
        try:
            run_dir.mkdir(parents=True, exist_ok=False)
            with self._lock:
                self._conn.execute(
                    "INSERT INTO runs (id, kind, label, spec, status, pid, created) VALUES (?,?,?,?,?,?,?)",
                    (run_id, spec.kind, spec.label, json.dumps(spec.to_dict(), default=str), "queued", os.getpid(),
                     time.time()),
                )
                self._write_run_json(run_id)
        except (sqlite3.DatabaseError, OSError) as exc:
            if not rc.is_io_error(exc):
                raise
            with self._lock:
                try:
                    self._conn.execute("DELETE FROM runs WHERE id=?", (run_id,))
                except sqlite3.DatabaseError:
                    pass
            shutil.rmtree(run_dir, ignore_errors=True)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise WorkspaceReadOnly(f"workspace {self.root}: cannot record a run ({reason}); "
                                    "free some space or pass --workspace DIR") from exc
        return run_id, run_dir

    def record_event(self, event: ev.JobEvent) -> None:
        """Persist what matters of an event (status, metrics, artifacts, result, error)."""
        rid, data = event.run_id, event.data
        if self.read_only is not None:
            return
        with self._lock:
            c = self._conn
            if event.type == ev.STARTED:
                c.execute(
                    "UPDATE runs SET status='running', started=?, device=?, pid=? WHERE id=?",
                    (event.time, data.get("device"), data.get("pid", os.getpid()), rid),
                )
                self._write_run_json(rid)
            elif event.type == ev.METRIC:
                c.execute("INSERT INTO metrics VALUES (?,?,?,?,?)",
                          (rid, data["name"], data.get("step"), data["value"], event.time))
                run_dir = self.runs_dir / rid
                if run_dir.is_dir():  # the mirror a rebuild reads the series back from
                    rc.append_metric(run_dir, data["name"], data.get("step"), data["value"], event.time)
            elif event.type == ev.ARTIFACT:
                c.execute("INSERT INTO artifacts VALUES (?,?,?)", (rid, data["name"], data["path"]))
            elif event.type == ev.RESULT:
                c.execute("UPDATE runs SET result=? WHERE id=?", (json.dumps(data.get("result"), default=str), rid))
            elif event.type == ev.ERROR:
                c.execute("UPDATE runs SET error=?, traceback=? WHERE id=?",
                          (data.get("message"), data.get("traceback"), rid))
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
        self._check_writable()
        rec = self.get_run(run_id)
        with self._lock:
            for table, col in (("runs", "id"), ("metrics", "run_id"), ("artifacts", "run_id")):
                self._conn.execute(f"DELETE FROM {table} WHERE {col}=?", (rec.id,))
        shutil.rmtree(rec.run_dir, ignore_errors=True)
