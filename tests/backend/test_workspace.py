"""The workspace: records, interrupted runs, corrupt and missing databases, atomic outputs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from backend.jobs import JobSpec, Runner
from backend.workspace import Workspace, atomic_dir, atomic_write_json

ROOT = Path(__file__).resolve().parents[2]


def run_one(ws, **params):
    h = Runner(ws).submit(JobSpec("demo.count", {"steps": 3, "delay": 0, **params}, device="cpu", label="t"))
    h.wait(10)
    return h


def test_run_is_recorded_with_result_and_run_json(workspace):
    h = run_one(workspace)
    run = workspace.get_run(h.run_id)
    assert run.status == "succeeded" and run.result == {"steps": 3, "total": 3}
    assert run.started and run.ended and run.ended >= run.started
    on_disk = json.loads((run.run_dir / "run.json").read_text())
    assert on_disk["status"] == "succeeded" and on_disk["result"]["total"] == 3
    assert workspace.get_run(h.run_id[:-3]).id == h.run_id  # unique prefix


def test_killed_process_leaves_interrupted_runs(tmp_path):
    ws_dir = tmp_path / "ws"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from backend.jobs import JobSpec, Runner
        from backend.workspace import Workspace
        ws = Workspace({str(ws_dir)!r})
        h = Runner(ws).submit(JobSpec("demo.count", {{"steps": 100000, "delay": 0.05}}, device="cpu"))
        while ws.get_run(h.run_id).status != "running":
            time.sleep(0.02)
        print(h.run_id, flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().strip()
    assert run_id
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    ws = Workspace(ws_dir)
    run = ws.get_run(run_id)
    assert run.status == "interrupted"
    assert "ended before it finished" in run.error
    assert json.loads((run.run_dir / "run.json").read_text())["status"] == "interrupted"


def test_corrupt_database_is_backed_up_and_rebuilt(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ids = [run_one(ws).run_id for _ in range(2)]
    ws.close()
    db = tmp_path / "ws" / "runs.db"
    for side in ("-wal", "-shm"):
        Path(str(db) + side).unlink(missing_ok=True)
    db.write_bytes(b"this is not a sqlite database" * 100)
    ws2 = Workspace(tmp_path / "ws")
    assert ws2.recovery_message and "could not be read" in ws2.recovery_message
    backups = list((tmp_path / "ws").glob("runs.db.corrupt-*"))
    assert backups and backups[0].read_bytes().startswith(b"this is not a sqlite")
    assert str(backups[0]) in ws2.recovery_message
    assert sorted(r.id for r in ws2.list_runs()) == sorted(ids)
    assert ws2.get_run(ids[0]).result == {"steps": 3, "total": 3}


def test_missing_database_is_rebuilt_from_folders(tmp_path):
    ws = Workspace(tmp_path / "ws")
    rid = run_one(ws).run_id
    ws.close()
    for f in (tmp_path / "ws").glob("runs.db*"):
        f.unlink()
    ws2 = Workspace(tmp_path / "ws")
    assert "missing" in ws2.recovery_message
    assert ws2.get_run(rid).status == "succeeded"


def test_unknown_run_id_message(workspace):
    with pytest.raises(KeyError, match="no run 'nope'"):
        workspace.get_run("nope")


def test_atomic_dir_refuses_existing_and_cleans_up(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("x")
        assert not out.exists()
    assert (out / "a.txt").read_text() == "x"
    with pytest.raises(FileExistsError, match=str(out)):
        with atomic_dir(out):
            pass
    other = tmp_path / "other"
    with pytest.raises(RuntimeError):
        with atomic_dir(other) as tmp:
            (tmp / "half").write_text("y")
            raise RuntimeError("boom")
    assert not other.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".other")]
    assert (out / "a.txt").read_text() == "x"


def test_atomic_write_json_replaces_whole_file(tmp_path):
    p = tmp_path / "x.json"
    atomic_write_json(p, {"a": 1})
    atomic_write_json(p, {"b": 2})
    assert json.loads(p.read_text()) == {"b": 2}
    assert [q.name for q in tmp_path.iterdir()] == ["x.json"]


def test_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "out") as tmp:
            atomic_write_json(tmp / "a.json", {"a": 1})
        atomic_write_json(tmp_path / "b.json", {"b": 2})
    finally:
        os.umask(old)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755   # was 0700 from mkdtemp
    assert (tmp_path / "out" / "a.json").stat().st_mode & 0o777 == 0o644  # was 0600 from mkstemp
    assert (tmp_path / "b.json").stat().st_mode & 0o777 == 0o644

