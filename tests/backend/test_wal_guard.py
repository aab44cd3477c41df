"""The run database survives another program opening and closing runs.db in our process."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from backend.jobs import JobSpec
from backend.workspace import Workspace

_COUNT = ("import sys; from backend.workspace import Workspace; w = Workspace(sys.argv[1]); "
          "print(len(w.list_runs())); w.close()")


def runs_seen_by_another_process(root: Path) -> int:
    """Opens, reads and closes the workspace in a new process (as a CLI command would)."""
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _COUNT, str(root)], capture_output=True, text=True, cwd=repo,
                         check=True)
    return int(out.stdout.strip())


def test_a_plain_open_and_close_of_runs_db_does_not_orphan_the_log(tmp_path):
    ws = Workspace(tmp_path / "ws")
    try:
        ws.create_run(JobSpec("demo.count", {}))
        with open(ws.db_path, "rb") as f:  # a file manager, a backup, a type sniffer
            f.read(100)
        assert runs_seen_by_another_process(ws.root) == 1  # it closes last: checkpoints, deletes the log
        ws.create_run(JobSpec("demo.count", {}))
        assert ws.wal_reopened == 1
        assert Path(str(ws.db_path) + "-wal").exists()
        assert runs_seen_by_another_process(ws.root) == 2  # without the guard: still 1
        assert len(ws.list_runs()) == 2
    finally:
        ws.close()


def test_no_reopening_when_nothing_happened(tmp_path):
    ws = Workspace(tmp_path / "ws")
    try:
        ws.create_run(JobSpec("demo.count", {}))
        assert runs_seen_by_another_process(ws.root) == 1
        ws.create_run(JobSpec("demo.count", {}))
        assert ws.wal_reopened == 0 and runs_seen_by_another_process(ws.root) == 2
    finally:
        ws.close()
