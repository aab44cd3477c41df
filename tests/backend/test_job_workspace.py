"""``zoo:NAME`` resolves in the workspace of the job's own run (ctx.workspace), in-process and in an
``isolate=True`` child, with nothing process-wide that another workspace could change."""
from __future__ import annotations

import shutil

import pytest

from backend.jobs import JobSpec, Runner
from backend.models.zoo import current_workspace, job_workspace, resolve_model
from backend.workspace import Workspace


@pytest.mark.parametrize("isolate", [False, True])
def test_zoo_names_resolve_in_the_runs_workspace(tiny_zoo, tmp_path, monkeypatch, isolate):
    monkeypatch.delenv("BENCHTOP_ZOO", raising=False)
    monkeypatch.setenv("BENCHTOP_WORKSPACE", str(tmp_path / "default-ws"))
    shutil.copytree(tiny_zoo, tmp_path / "ws" / "zoo" / "demo")
    ws = Workspace(tmp_path / "ws")
    runner = Runner(ws)
    try:
        h = runner.submit(JobSpec("demo.resolve", {"model": "zoo:arith-base"}, isolate=isolate, device="cpu"))
        assert h.wait(120) == "succeeded", h.error
        want = str(ws.root / "zoo" / "demo" / "arith-base")
        assert h.result == {"ctx": want, "deep": want, "workspace": str(ws.root)}
    finally:
        runner.shutdown()
        ws.close()
    assert current_workspace() is None
    with pytest.raises(FileNotFoundError, match="not built yet"):
        resolve_model("zoo:arith-base")  # the default workspace has no zoo: nothing leaked


def test_job_workspace_is_scoped(tmp_path):
    with job_workspace(tmp_path):
        assert current_workspace() == tmp_path
        with job_workspace(None):
            assert current_workspace() is None
        assert current_workspace() == tmp_path
    assert current_workspace() is None
