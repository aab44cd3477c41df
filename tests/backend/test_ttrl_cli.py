"""``main.py ttrl train`` in-process: a tiny run, its resume, and a bad input file."""
from __future__ import annotations

import json

from backend.cli import main as cli_main
from backend.ttrl.tiny import build_tiny_policy


def test_cli_train_resume_and_errors(tmp_path, capsys):
    policy = build_tiny_policy(tmp_path / "policy")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"problem": q}) + "\n" for q in ("1+2", "3*4", "9-2")))
    ws, out = str(tmp_path / "ws"), tmp_path / "out"
    small = ["--prompts-per-step", "2", "--n-votes", "4", "--n-train", "4", "--max-new-tokens", "8"]
    rc = cli_main(["--workspace", ws, "ttrl", "train", "--policy", str(policy), "--prompts", str(prompts),
                   "--out", str(out), "--steps", "1", "--device", "cpu", "--json", *small])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["status"] == "succeeded", res
    assert (out / "model" / "config.json").is_file() and res["result"]["steps"] == 1
    rc = cli_main(["--workspace", ws, "ttrl", "train", "--out", str(out), "--resume", "--steps", "2", "--json"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["result"]["resumed_from"] == 1 and res["result"]["steps"] == 2
    # a used output folder, a broken prompt file, a missing --policy: clear messages
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": "1+1"}\n{oops\n')
    rc = cli_main(["--workspace", ws, "ttrl", "train", "--policy", str(policy), "--prompts", str(bad),
                   "--out", str(tmp_path / "o2"), "--device", "cpu", *small])
    err = capsys.readouterr().err
    assert rc == 1 and "bad.jsonl: line 2" in err
    assert cli_main(["--workspace", ws, "ttrl", "train", "--out", str(tmp_path / "o3")]) == 2
    assert "needs --policy and --prompts" in capsys.readouterr().err
