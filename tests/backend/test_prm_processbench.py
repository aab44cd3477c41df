"""ProcessBench metric on hand-labelled sets (research note §6 items 1-7), JSONL errors, CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from backend.prm.processbench import accuracy_f1, average_f1, evaluate, f1_from, sweep
from backend.prm.records import check_processbench, read_jsonl
from tests.backend._prm_models import make_prm

ROOT = Path(__file__).resolve().parents[2]


def test_hand_computed_f1():
    m = accuracy_f1([-1, -1, -1, -1, 2, 0, 3, 1], [-1, -1, -1, 0, 2, 1, 3, -1])
    assert (m["acc_error"], m["acc_correct"], m["f1"]) == (50.0, 75.0, 60.0)


def test_off_by_one_and_unparseable_miss():
    assert accuracy_f1([2, 2, 2, 2], [1, 3, None, 2])["acc_error"] == 25.0


def test_degenerate_accuracies():
    assert f1_from(0.0, 80.0) == 0.0 and f1_from(0.0, 0.0) == 0.0
    m = accuracy_f1([1, 2], [1, 2])
    assert m["acc_correct"] is None and m["f1"] is None  # no all-correct sample: undefined, not a crash
    assert f1_from(72.0, 96.4) == pytest.approx(82.43, abs=0.01)


def test_unweighted_average():
    assert average_f1([78.7, 80.3, 72.2, 69.8]) == pytest.approx(75.25)
    assert average_f1([None, 60.0]) == 60.0


def test_evaluate_and_sweep_by_subset():
    recs = [{"subset": "gsm8k", "label": -1}, {"subset": "gsm8k", "label": 1},
            {"subset": "math", "label": 0}, {"subset": "math", "label": -1}]
    scores = [[0.9, 0.8], [0.9, 0.3], [0.6, 0.9], [0.7, 0.7]]
    ev = evaluate(recs, scores, 0.5)
    assert ev["subsets"]["gsm8k"]["f1"] == 100.0
    assert ev["subsets"]["math"]["acc_error"] == 0.0 and ev["subsets"]["math"]["f1"] == 0.0
    assert ev["average_f1"] == 50.0 and [s["predicted"] for s in ev["samples"]] == [-1, 1, -1, -1]
    sw = sweep(recs, scores, [0.5, 0.65])
    assert sw["best_threshold"] == 0.65 and sw["best_average_f1"] == 100.0


def _write_pb(path: Path) -> None:
    good = [{"id": "gsm8k-0", "generator": "g", "problem": "2+3", "steps": ["2+3=5"], "final_answer_correct": True,
             "label": -1},
            {"id": "math-1", "problem": "4*2-1", "steps": ["4*2=9", "9-1=8"], "final_answer_correct": False,
             "label": 0}]
    lines = [json.dumps(good[0]), "{not json", json.dumps({"id": "x-1", "problem": "1", "steps": ["a"], "label": 3}),
             json.dumps(good[1]), json.dumps({"id": "y", "problem": "p", "steps": "abc", "label": -1})]
    path.write_text("\n".join(lines) + "\n")


def test_malformed_lines_named(tmp_path):
    f = tmp_path / "pb.jsonl"
    _write_pb(f)
    loaded = read_jsonl(f, check_processbench)
    assert [r["_line"] for r in loaded.records] == [1, 4]
    assert [e.split(":")[1] for e in loaded.errors] == ["2", "3", "5"]
    assert "label" in loaded.errors[1] and "steps" in loaded.errors[2]
    assert [r["subset"] for r in loaded.records] == ["gsm8k", "math"]


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_cli_score_and_processbench(tmp_path):
    prm = make_prm(tmp_path / "prm", "token-classification")
    pb = tmp_path / "pb.jsonl"
    _write_pb(pb)
    before = pb.read_bytes()
    ws = str(tmp_path / "ws")
    r = _cli("--workspace", ws, "prm", "processbench", "--prm", str(prm), "--data", str(pb), "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)["result"]
    assert set(res["subsets"]) == {"gsm8k", "math"} and len(res["samples"]) == 2
    assert all(isinstance(s["predicted"], int) for s in res["samples"])
    assert len(res["errors"]) == 3 and ":2:" in res["errors"][0]
    assert "pb.jsonl:3" in r.stderr and pb.read_bytes() == before
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"problem": "2+3", "solution": "Step 1: 2+3=5\nStep 2: 5*2=10\nAnswer: 10"}) + "\n"
                   + "[1, 2]\n" + json.dumps({"problem": "7-2", "steps": ["7-2=5"]}) + "\n")
    out = tmp_path / "out.jsonl"
    r = _cli("--workspace", ws, "prm", "score", "--prm", str(prm), "--input", str(inp), "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [len(x["step_scores"]) for x in rows] == [2, 1] and [x["line"] for x in rows] == [1, 3]
    assert set(rows[0]["aggregates"]) == {"min", "last", "prod", "mean"}
    assert "in.jsonl:2" in r.stdout + r.stderr
    r = _cli("--workspace", ws, "prm", "score", "--prm", str(prm), "--input", str(inp), "--out", str(inp))
    assert r.returncode == 2 and "never modified" in r.stderr
