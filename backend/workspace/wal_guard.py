"""Notice when another program has orphaned the run database's write-ahead log.

SQLite's locks on ``runs.db`` are POSIX advisory locks, and POSIX drops *every* lock a process
holds on a file as soon as that process closes *any* descriptor of it. A Qt file dialog showing
the workspace folder does exactly that when it sniffs ``runs.db`` to pick an icon (so does a
backup tool, or ``open(runs.db).read()``). Our long-lived connection then looks absent to other
processes: the next CLI run that closes the database believes it is the last user, checkpoints
the log into ``runs.db`` and deletes ``runs.db-wal``. From then on this process would write into
a deleted file (``runs.db-wal (deleted)`` in ``/proc/PID/fd``): other processes see stale runs
and a crash loses them.

The remedy is cheap: the log file keeps its identity (device, inode) for as long as any
connection is open, so a changed or missing identity means ours was orphaned. The workspace
compares it before each use of its connection and, when it changed, reopens the connection.
Nothing committed is lost: the process that deleted the log checkpointed it first.
"""
from __future__ import annotations

import os
from pathlib import Path


def wal_path(db_path: str | Path) -> Path:
    return Path(str(db_path) + "-wal")


def wal_identity(db_path: str | Path) -> tuple[int, int] | None:
    """``(device, inode)`` of the database's ``-wal`` file, or None when there is none."""
    try:
        st = os.stat(wal_path(db_path))
    except OSError:
        return None
    return (st.st_dev, st.st_ino)
