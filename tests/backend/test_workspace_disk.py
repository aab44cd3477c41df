"""A full or read-only disk never loses the run history (issue #16 item 2).

The full and read-only disks are real: a 1 MiB tmpfs mounted in a private mount namespace
(``unshare --mount``, needs root), filled with a file or remounted read-only. Where that is not
allowed the tests are skipped with the reason. Corruption, empty-file and mirror cases need no
special disk.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from backend.jobs import JobSpec, Runner
from backend.workspace import Workspace, WorkspaceReadOnly

ROOT = Path(__file__).resolve().parents[2]


def _namespace_unavailable() -> str | None:
    if not sys.platform.startswith("linux"):
        return "tmpfs in a mount namespace is Linux-only"
    if os.geteuid() != 0:
        return "mounting a small tmpfs needs root (unshare --mount); not root here"
    if shutil.which("unshare") is None:
        return "the unshare tool is not installed"
    probe = subprocess.run(["unshare", "--mount", "true"], check=False, capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare --mount is not permitted here: {probe.stderr.strip()[:120]}"
    return None


SETUP = """
import hashlib, json, os, subprocess, sys
sys.path.insert(0, {root!r})
mnt = sys.argv[1]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt], check=True)
from backend.jobs import JobSpec, Runner
from backend.workspace import Workspace, WorkspaceReadOnly
ws_dir = os.path.join(mnt, "ws")
ws = Workspace(ws_dir)
ids = []
for _ in range(3):
    h = Runner(ws).submit(JobSpec("demo.count", {{"steps": 4, "delay": 0}}, device="cpu"))
    h.wait(20)
    ids.append(h.run_id)
series = ws.metrics(ids[0])
ws.close()
db = os.path.join(ws_dir, "runs.db")
digest = hashlib.sha256(open(db, "rb").read()).hexdigest()

def fill():
    try:
        with open(os.path.join(mnt, "filler"), "wb") as f:
            while True:
                f.write(b"x" * 65536)
                f.flush()
    except OSError:
        pass

def observe(tag):
    ws = Workspace(ws_dir)
    out = {{"read_only": ws.read_only, "message": ws.recovery_message,
           "listed": sorted(r.id for r in ws.list_runs()), "series": ws.metrics(ids[0]),
           "files": sorted(os.listdir(ws_dir))}}
    try:
        Runner(ws).submit(JobSpec("demo.count", {{"steps": 1, "delay": 0}}, device="cpu")).wait(20)
        out["submit"] = "ok"
    except WorkspaceReadOnly as exc:
        out["submit"] = "refused: " + str(exc)
    ws.close()
    cli = subprocess.run([sys.executable, os.path.join({root!r}, "main.py"), "--workspace", ws_dir, "runs", "list"],
                         capture_output=True, text=True, timeout=120)
    out["cli"] = {{"rc": cli.returncode, "stdout": cli.stdout, "stderr": cli.stderr}}
    out["db_same"] = os.path.exists(db) and hashlib.sha256(open(db, "rb").read()).hexdigest() == digest
    out["db_size"] = os.path.getsize(db) if os.path.exists(db) else None
    results[tag] = out

results = {{"ids": ids, "series": series}}
"""


def _run_in_namespace(tmp_path: Path, body: str) -> dict:
    why = _namespace_unavailable()
    if why:
        pytest.skip(why)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = tmp_path / "disk_script.py"
    script.write_text(SETUP.format(root=str(ROOT)) + textwrap.dedent(body) + "\nprint(json.dumps(results))\n")
    out = subprocess.run(["unshare", "--mount", sys.executable, str(script), str(mnt)],
                         check=False, capture_output=True, text=True, timeout=600, cwd=ROOT)
    if out.returncode != 0 and "mount:" in out.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {out.stderr.strip()[:160]}")
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _assert_history_kept(res: dict, tag: str, cause: str) -> None:
    r = res[tag]
    ids = res["ids"]
    assert r["read_only"] and cause in r["read_only"], r
    assert r["listed"] == sorted(ids), r                      # every run still listed
    assert r["series"] == res["series"]                        # and its metric series
    assert r["db_same"], "the healthy runs.db was changed or moved"
    assert not [f for f in r["files"] if "corrupt" in f], r["files"]
    assert r["submit"].startswith("refused: workspace") and "\n" not in r["submit"]
    cli = r["cli"]
    assert cli["rc"] == 0 and all(i in cli["stdout"] for i in ids), cli
    warning = [ln for ln in cli["stderr"].splitlines() if ln.strip()]
    assert len(warning) == 1 and warning[0].startswith("warning: workspace") and cause in warning[0], cli
    assert "Traceback" not in cli["stderr"]


def test_full_disk_keeps_every_run_listed_and_recovers_when_space_returns(tmp_path):
    res = _run_in_namespace(tmp_path, """
        fill()
        observe("full")
        os.remove(os.path.join(mnt, "filler"))
        observe("freed")
    """)
    _assert_history_kept(res, "full", "disk full")
    freed = res["freed"]
    assert freed["read_only"] is None and freed["message"] is None, freed
    assert freed["submit"] == "ok"
    assert freed["listed"] == sorted(res["ids"]) and freed["series"] == res["series"]  # nothing lost


def test_read_only_workspace_keeps_every_run_listed(tmp_path):
    res = _run_in_namespace(tmp_path, """
        # one run only its folder knows (as when the last writes sit in a WAL the disk cannot open)
        import sqlite3
        c = sqlite3.connect(db)
        c.execute("DELETE FROM runs WHERE id=?", (ids[0],))
        c.execute("DELETE FROM metrics WHERE run_id=?", (ids[0],))
        c.commit()
        c.close()
        digest = hashlib.sha256(open(db, "rb").read()).hexdigest()
        subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
        observe("ro")
    """)
    _assert_history_kept(res, "ro", "read-only")
    assert "plus 1 run(s) only their folders knew" in res["ro"]["message"]


def test_missing_database_on_full_disk_leaves_no_empty_file(tmp_path):
    res = _run_in_namespace(tmp_path, """
        for side in ("", "-wal", "-shm"):
            if os.path.exists(db + side):
                os.remove(db + side)
        fill()
        observe("full")
    """)
    r = res["full"]
    assert r["listed"] == sorted(res["ids"]) and r["series"] == res["series"]  # rebuilt in memory from mirrors
    assert r["db_size"] is None, "a zero-byte runs.db was left behind"
    assert "runs.db" not in r["files"]


def _runs(ws: Workspace, n: int = 2) -> list[str]:
    ids = []
    for _ in range(n):
        h = Runner(ws).submit(JobSpec("demo.count", {"steps": 5, "delay": 0}, device="cpu"))
        h.wait(20)
        ids.append(h.run_id)
    return ids


def test_rebuild_from_mirrors_keeps_metric_series(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ids = _runs(ws)
    before = {i: ws.metrics(i) for i in ids}
    assert all(before[i]["total"] for i in ids)
    ws.close()
    db = tmp_path / "ws" / "runs.db"
    for side in ("-wal", "-shm"):
        Path(str(db) + side).unlink(missing_ok=True)
    db.write_bytes(b"garbage, not sqlite" * 200)
    ws2 = Workspace(tmp_path / "ws")
    assert "could not be read" in ws2.recovery_message
    assert {i: ws2.metrics(i) for i in ids} == before


def test_zero_byte_database_is_rebuilt_not_read_as_empty(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ids = _runs(ws)
    ws.close()
    db = tmp_path / "ws" / "runs.db"
    for side in ("-wal", "-shm"):
        Path(str(db) + side).unlink(missing_ok=True)
    db.write_bytes(b"")  # what an older version left on a full disk
    ws2 = Workspace(tmp_path / "ws")
    assert sorted(r.id for r in ws2.list_runs()) == sorted(ids)
    assert "recovered" in ws2.recovery_message
    assert ws2.metrics(ids[0]) and db.stat().st_size > 0


def test_runs_missing_from_a_healthy_database_are_read_back(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ids = _runs(ws)
    ws._conn.execute("DELETE FROM runs WHERE id=?", (ids[0],))
    ws._conn.execute("DELETE FROM metrics WHERE run_id=?", (ids[0],))
    ws.close()
    ws2 = Workspace(tmp_path / "ws")
    assert sorted(r.id for r in ws2.list_runs()) == sorted(ids)
    assert "lacked 1 run(s)" in ws2.recovery_message and ws2.metrics(ids[0])["total"]


def test_skipped_mirrors_are_counted_with_reasons(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ids = _runs(ws, 3)
    ws.close()
    runs = tmp_path / "ws" / "runs"
    (runs / ids[0] / "run.json").write_text("{ torn")
    data = json.loads((runs / ids[1] / "run.json").read_text())
    del data["kind"]
    (runs / ids[1] / "run.json").write_text(json.dumps(data))
    with open(runs / ids[2] / "metrics.jsonl", "a") as f:
        f.write('{"name": "total", "va')  # a torn last line
    for f in (tmp_path / "ws").glob("runs.db*"):
        f.unlink()
    ws2 = Workspace(tmp_path / "ws")
    msg = ws2.recovery_message
    assert "1 run(s) were recovered" in msg and "3 mirror(s) skipped" in msg, msg
    assert "not valid JSON" in msg and "no 'kind' field" in msg and "1 unreadable line(s)" in msg
    assert [r.id for r in ws2.list_runs()] == [ids[2]]
    assert (runs / ids[0] / "run.json").read_text() == "{ torn"  # left untouched


def test_read_only_workspace_refuses_new_runs_in_one_line(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.read_only = "read-only file system"
    with pytest.raises(WorkspaceReadOnly, match="cannot record a run"):
        ws.create_run(JobSpec("demo.count", {}))
