"""The command line end to end: every command's --help, runs list/show, the self-test."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, check=True, env=None):
    e = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(env or {}))
    p = subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, env=e,
                       timeout=240)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def subcommands(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield [name]
                for rest in subcommands(sub):
                    yield [name, *rest]


def test_every_command_has_help():
    from backend.cli import build_parser

    parser = build_parser()
    commands = list(subcommands(parser))
    assert ["runs", "list"] in commands and ["runs", "show"] in commands
    for cmd in commands:
        p = cli(*cmd, "--help")
        assert "usage:" in p.stdout, cmd
    assert "usage:" in cli("--help").stdout


def test_runs_list_and_show_json(tmp_path):
    ws = str(tmp_path / "ws")
    p = cli("--workspace", ws, "demo", "--steps", "3", "--delay", "0", "--json")
    result = json.loads(p.stdout)
    assert result["status"] == "succeeded" and result["result"]["total"] == 3
    runs = json.loads(cli("--workspace", ws, "runs", "list", "--json").stdout)
    assert [r["id"] for r in runs] == [result["run_id"]]
    shown = json.loads(cli("--workspace", ws, "runs", "show", result["run_id"], "--json").stdout)
    assert shown["status"] == "succeeded" and len(shown["metrics"]["total"]) == 3
    text = cli("--workspace", ws, "runs", "show", result["run_id"][:-2]).stdout
    assert "succeeded" in text
    missing = cli("--workspace", ws, "runs", "show", "nope", check=False)
    assert missing.returncode == 2 and "no run 'nope'" in missing.stderr


def test_corrupt_workspace_warns_in_cli(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "runs.db").write_bytes(b"garbage" * 200)
    p = cli("--workspace", str(ws), "runs", "list")
    assert "could not be read" in p.stderr and "runs.db.corrupt-" in p.stderr


def test_self_test_passes_and_fails(tmp_path):
    ok = cli("--workspace", str(tmp_path / "a"), "--self-test", check=False)
    assert ok.returncode == 0, ok.stderr
    bad = cli("--workspace", str(tmp_path / "b"), "--self-test", "--self-test-fail", check=False)
    assert bad.returncode != 0 and "demo failure at step 2" in bad.stderr
