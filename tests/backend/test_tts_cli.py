"""``python main.py tts run|sweep`` end to end on a tiny policy with the reference step scorer."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from backend.ttrl.tiny import build_tiny_policy

    root = tmp_path_factory.mktemp("ttscli")
    policy = build_tiny_policy(root / "tiny", seed=2)
    data = root / "problems.jsonl"
    data.write_text("".join(json.dumps({"problem": p, "answer": a, "level": 1}) + "\n"
                            for p, a in [("(4+5)*2", "18"), ("9-4", "5"), ("((2+3)*4)-1", "19")]))
    return root, policy, data


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "--workspace", str(root / "ws"), *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=240)


SMALL = ["--max-steps", "2", "--max-tokens", "12", "--step-tokens", "6", "--temperature", "1.0"]


def test_run_and_sweep_write_outputs_and_json(setup):
    root, policy, data = setup
    before = data.read_bytes()
    out = root / "run_beam"
    r = cli(root, "tts", "run", "--policy", str(policy), "--prm", "reference:arithmetic", "--data", str(data),
            "--strategy", "beam", "--n", "4", "--out", str(out), *SMALL, "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)["result"]
    assert res["strategy"] == "beam" and res["n"] == 4 and res["problems"] == 3
    details = [json.loads(line) for line in (out / "details.jsonl").read_text().splitlines()]
    assert len(details) == 3 and all(d["tree"] for d in details)
    assert sum(d["budget"]["tokens"] for d in details) == res["timing"]["generation"]["generated_tokens"]
    assert json.loads((out / "result.json").read_text())["accuracy"] == res["accuracy"]

    sweep_out = root / "sweep"
    r = cli(root, "tts", "sweep", "--policy", str(policy), "--prm", "reference:arithmetic", "--data", str(data),
            "--strategies", "greedy,majority,weighted_bon,dvts", "--ns", "1,2", "--out", str(sweep_out),
            *SMALL, "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)["result"]
    assert res["ns"] == [1, 2] and set(res["runs"]) == {"greedy", "majority", "weighted_bon", "dvts"}
    assert res["compute_optimal"] and (sweep_out / "sweep.json").is_file()
    assert data.read_bytes() == before                      # inputs untouched

    r = cli(root, "tts", "sweep", "--policy", str(policy), "--data", str(data), "--strategies", "majority",
            "--out", str(sweep_out))
    assert r.returncode == 2 and "already exists" in r.stderr


def test_bad_input_gives_a_clear_message(setup):
    root, policy, data = setup
    bad = root / "bad.jsonl"
    bad.write_text('{"problem": "1+1", "answer": "2"}\n{"answer": "3"}\n')
    r = cli(root, "tts", "run", "--policy", str(policy), "--data", str(bad), "--strategy", "majority",
            "--out", str(root / "bad_out"), *SMALL)
    assert r.returncode == 2 and "bad.jsonl line 2: field 'problem'" in r.stderr
    r = cli(root, "tts", "run", "--policy", str(policy), "--data", str(data), "--strategy", "beam",
            "--out", str(root / "noprm"), *SMALL)
    assert r.returncode == 2 and "needs a PRM" in r.stderr
    assert not (root / "bad_out").exists() and not (root / "noprm").exists()
