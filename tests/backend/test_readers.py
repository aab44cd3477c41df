"""The tolerant JSON-lines reader, the incremental tail, and the artifact readers built on them."""
from __future__ import annotations

import json

import pytest

from backend.jsonl import JsonlTail, tolerant_rows
from backend.readers import read_json, read_tswitch_meta, read_tts_details, ttrl_metric_series


def test_tolerant_rows_skip_and_report_bad_lines(tmp_path):
    p = tmp_path / "log.jsonl"
    p.write_bytes(b'{"a": 1}\n[1, 2]\nnot json\n\n{"a": 2}\n\xff\xfe\n{"a": 3}')
    problems = []
    rows = tolerant_rows(p, problems)
    assert [(i, r["a"]) for i, r in rows] == [(1, 1), (5, 2), (7, 3)]
    assert [(q.line, q.message.split(" ")[0]) for q in problems] == [(2, "expected"), (3, "not"), (6, "not")]
    assert str(problems[0]).startswith(f"{p}:2: ")
    # a job still writing: the unterminated last line is not read (nor reported) yet
    problems.clear()
    assert [r["a"] for _, r in tolerant_rows(p, problems, growing=True)] == [1, 2]
    assert len(problems) == 3
    assert tolerant_rows(tmp_path / "missing.jsonl") == []


def test_tail_reads_only_complete_new_lines(tmp_path):
    p = tmp_path / "metrics.jsonl"
    tail = JsonlTail(p)
    assert tail.read_new() == []
    with open(p, "w", encoding="utf-8") as f:
        f.write('{"step": 1}\n{"ste')
    assert tail.read_new() == [{"step": 1}]
    assert tail.read_new() == []
    with open(p, "a", encoding="utf-8") as f:
        f.write('p": 2}\nbroken\n{"step": 3}\n')
    assert tail.read_new() == [{"step": 2}, {"step": 3}]
    assert [(q.line, q.message[:8]) for q in tail.problems] == [(3, "not JSON")]
    p.write_text('{"step": 9}\n')  # replaced by a shorter file: read again from the start
    assert tail.read_new() == [{"step": 9}]


def test_artifact_readers(tmp_path):
    (tmp_path / "metrics.jsonl").write_text(
        "".join(json.dumps({"name": n, "step": s, "value": v}) + "\n" for n, s, v in
                [("reward", 1, 0.5), ("reward", 2, 0.75), ("loss", 1, 2.0)]) + '{"name": "rew')
    assert ttrl_metric_series(tmp_path) == {"reward": [(1, 0.5), (2, 0.75)], "loss": [(1, 2.0)]}
    det = tmp_path / "details.jsonl"
    det.write_text(json.dumps({"strategy": "bon", "n": 4, "index": 0, "answer": "7"}) + "\n{half")
    assert read_tts_details(det) == {("bon", 4, 0): {"strategy": "bon", "n": 4, "index": 0, "answer": "7"}}
    with pytest.raises(FileNotFoundError, match="not a T-Switch folder"):
        read_tswitch_meta(tmp_path)
    (tmp_path / "tswitch.json").write_text("{")
    with pytest.raises(ValueError, match="tswitch.json: not valid JSON"):
        read_tswitch_meta(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_json(tmp_path / "nope.json")
