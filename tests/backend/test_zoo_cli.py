"""``main.py zoo build`` / ``zoo status`` in-process, on a copy of the session's tiny zoo."""
from __future__ import annotations

import json
import shutil

import pytest

from backend.cli import main as cli_main


def test_cli_status_and_build_reuses_a_ready_zoo(tiny_zoo, tmp_path, capsys):
    ws = tmp_path / "ws"
    assert cli_main(["--workspace", str(ws), "zoo", "status", "--profile", "tiny", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "missing"
    shutil.copytree(tiny_zoo, ws / "zoo" / "tiny")
    assert cli_main(["--workspace", str(ws), "zoo", "status", "--profile", "tiny", "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["status"] == "ready" and "arith-policy" in st["models"] and st["figures"]["policy"]
    # build: the job finds the workspace from its run folder and reuses the complete zoo
    rc = cli_main(["--workspace", str(ws), "zoo", "build", "--profile", "tiny", "--json"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["status"] == "succeeded", res
    assert res["result"]["root"] == str(ws / "zoo" / "tiny")
    assert res["result"]["figures"] == json.loads((tiny_zoo / "manifest.json").read_text())["figures"]
    # plain-text status names the state and the models
    (ws / "zoo" / "tiny" / "manifest.json").unlink()
    assert cli_main(["--workspace", str(ws), "zoo", "status", "--profile", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "partial" in out and "zoo build --profile tiny" in out


def test_workspace_flag_decides_where_zoo_names_resolve(tiny_zoo, tmp_path, capsys, monkeypatch):
    """``--workspace DIR`` makes ``zoo:NAME`` load from DIR's zoo, in the command's own checks and
    in the job it runs (they used to look in the user's default workspace)."""
    from backend.models.zoo import job_workspace, resolve_model

    monkeypatch.delenv("BENCHTOP_ZOO", raising=False)
    monkeypatch.setenv("BENCHTOP_WORKSPACE", str(tmp_path / "default-ws"))
    ws = tmp_path / "ws"
    shutil.copytree(tiny_zoo, ws / "zoo" / "demo")
    rc = cli_main(["--workspace", str(ws), "merge-eval", "zoo:arith-ft-add", "--tasks", "add", "--limit", "2",
                   "--json"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["status"] == "succeeded", res
    with job_workspace(ws):
        assert resolve_model("zoo:arith-base") == ws / "zoo" / "demo" / "arith-base"
    with pytest.raises(FileNotFoundError):   # nothing process-wide was left behind by the command
        resolve_model("zoo:arith-base")
    assert cli_main(["merge-eval", "zoo:arith-ft-add", "--tasks", "add"]) == 2   # default workspace: no zoo
    assert "not built yet" in capsys.readouterr().err
