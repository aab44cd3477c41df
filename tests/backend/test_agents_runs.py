"""Readers on the committed sample runs (both layouts of the same episodes), bad input, and
aggregates checked by hand."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.agents.aggregate import aggregate, compare_runs
from backend.agents.reader import open_run

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "sample_runs"
SB = SAMPLES / "scienceboard" / "scripted_a11y-vm-screenshot+a11y_tree"
SB_NOISY = SAMPLES / "scienceboard" / "scripted_noisy-vm-screenshot+a11y_tree"
OSW = SAMPLES / "osworld" / "pyautogui" / "screenshot_a11y_tree" / "scripted_a11y"
OSW13 = SAMPLES / "osworld" / "computer_13" / "screenshot" / "scripted_noisy"


def test_scienceboard_sample_run():
    run = open_run(SB)
    assert run.format == "scienceboard" and run.meta["tasks_dir"].endswith("tasks")
    st = {t.key: t.status for t in run.tasks}
    assert st["Calc/B-02"] == "crashed" and list(st.values()).count("pass") == 7
    crashed = run.task("Calc/B-02")
    assert "TimeoutError" in crashed.crash and crashed.steps  # the crash text comes from the task log
    a01 = run.task("Calc/A-01")
    assert a01.budget == 5 and a01.instruction.startswith("Compute 12")
    assert a01.steps[0].observation.name.startswith("step_0@") and a01.steps[0].after == a01.steps[1].observation
    assert "Enter 12" in a01.steps[0].response and a01.steps[0].a11y is not None
    assert "lambda" in json.dumps(a01.definition["evaluate"])  # kept as text
    rel = run.task("Calc/A-02").steps[0].actions[0]
    assert rel.coords == "relative" and 0 < rel.x < 1
    tag_step = run.task("Notes/A-02").steps
    assert tag_step[0].actions[0].coords == "tag"
    assert tag_step[1].screenshot_missing and tag_step[1].observation is None
    assert any("step_1@" in str(p) and "missing" in str(p) for p in run.all_problems())
    kinds = {a.kind for s in run.task("Notes/B-01").steps for a in s.actions}
    assert {"scroll", "move", "drag", "answer"} <= kinds
    assert run.meta["sum_log"]["passed"] == 7 and run.meta["sum_log"]["skipped"] == 1


def test_osworld_layout_of_the_same_episodes_agrees():
    sb, osw = open_run(SB), open_run(OSW)
    assert osw.format == "osworld"
    assert {t.instruction: t.status for t in sb.tasks} == {t.instruction: t.status for t in osw.tasks}
    assert [len(t.steps) for t in osw.tasks] and osw.meta["args"]["max_steps"] == 15
    t = next(t for t in osw.tasks if t.status == "pass")
    # one OSWorld line per executed action; its screenshot is the screen after it
    assert t.steps[0].observation == t.initial and t.steps[1].observation == t.steps[0].after
    crashed = next(t for t in osw.tasks if t.status == "crashed")
    assert "Time limit" in crashed.crash and crashed.steps[-1].error
    # the OSWorld copy logs executed pixels where ScienceBoard logged relative coordinates
    rel_sb = sb.task("Calc/A-02").steps[0].actions[0]
    rel_os = next(t for t in osw.tasks if t.instruction and t.instruction.startswith("Compute 3")).steps[0].actions[0]
    assert rel_os.coords == "absolute" and rel_os.x == pytest.approx(rel_sb.x * 232, abs=1)


def test_computer13_run_with_partial_score():
    run = open_run(OSW13)
    assert all(isinstance(s.raw_actions[0], (dict, str)) for t in run.tasks for s in t.steps)
    assert any(isinstance(s.raw_actions[0], dict) for t in run.tasks for s in t.steps)
    partial = [t for t in run.tasks if t.status == "partial"]
    assert len(partial) == 1 and 0 < partial[0].score < 1


def _sb_task(root: Path, app: str, tid: str, lines: list[str], result: str | None) -> Path:
    d = root / app / tid
    d.mkdir(parents=True)
    (d / "traj.jsonl").write_text("".join(line + "\n" for line in lines))
    if result is not None:
        (d / "result.out").write_text(result)
    return d


def test_malformed_line_crash_and_missing_result(tmp_path):
    run_dir = tmp_path / "run"
    good = json.dumps({"step_index": 0, "timestamp": "250101000000", "actions": ["pyautogui.click(1, 2)"],
                       "screenshot": "step_0@250101000000.png"})
    _sb_task(run_dir, "Lean", "A-01", [good, '{"step_index": 1, "actions": [', json.dumps([1])], "1")
    _sb_task(run_dir, "Lean", "A-02", [good], None)
    _sb_task(run_dir, "Lean", "A-03", [good], "maybe")
    before = sorted(p.read_bytes() for p in run_dir.rglob("*") if p.is_file())
    run = open_run(run_dir)
    probs = [str(p) for p in run.all_problems()]
    assert any("A-01/traj.jsonl:2: malformed JSON line" in p for p in probs)
    assert any("A-01/traj.jsonl:3: expected a JSON object" in p for p in probs)
    assert any("A-03/result.out:1: not a score" in p for p in probs)
    assert [t.status for t in run.tasks] == ["pass", "crashed", "crashed"]
    assert len(run.task("Lean/A-01").steps) == 1 and run.task("Lean/A-01").steps[0].screenshot_missing
    assert sorted(p.read_bytes() for p in run_dir.rglob("*") if p.is_file()) == before  # inputs untouched


def test_osworld_error_line(tmp_path):
    d = tmp_path / "r" / "chrome" / "abc"
    d.mkdir(parents=True)
    (d / "traj.jsonl").write_text(json.dumps({"step_num": 1, "action": "pyautogui.click(0.5, 0.5)",
                                              "screenshot_file": "step_1_x.png"}) + "\n"
                                  + json.dumps({"Error": "Time limit exceeded"}) + "\n")
    (d / "step_1_x.png").write_bytes(b"\x89PNG")
    task = open_run(tmp_path / "r").tasks[0]
    assert task.status == "crashed" and task.crash == "Time limit exceeded"
    assert task.steps[0].actions[0].coords == "relative" and task.steps[1].error == "Time limit exceeded"


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no ScienceBoard or OSWorld task folder"):
        open_run(tmp_path / "empty")


def test_aggregates_by_hand(tmp_path):
    """Two domains: A has 1 pass + 1 fail + 1 crash (1/3), B has 1 pass (1/1), one skipped B task.

    ScienceBoard overall = mean(1/3, 1/2) because the skipped task counts in B (2 tasks);
    solved/total = 2/5; finished-only = 2/3; mean score includes a 0.5 partial? no: binary here.
    """
    root = tmp_path / "run"
    line = json.dumps({"step_index": 0, "actions": ["DONE"]})
    _sb_task(root, "A", "1", [line], "1")
    _sb_task(root, "A", "2", [line], "0")
    _sb_task(root, "A", "3", [line], None)
    _sb_task(root, "B", "1", [line], "1.0")
    tasks = tmp_path / "tasks" / "VM"
    for app, tid, steps in (("A", "1", 5), ("A", "2", 10), ("A", "3", 10), ("B", "1", 5), ("B", "2", 15),
                            ("C", "9", 5)):
        (tasks / app).mkdir(parents=True, exist_ok=True)
        (tasks / app / f"{tid}.json").write_text(json.dumps({"steps": steps, "instruction": f"task {tid}",
                                                             "evaluate": [{"pred": "lambda v: v"}]}))
    agg = aggregate(open_run(root, tmp_path / "tasks"))
    o = agg["overall"]
    assert (o["total"], o["pass"], o["fail"], o["crashed"], o["skipped"]) == (5, 2, 1, 1, 1)  # C never ran
    assert o["macro_rate"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert o["solved_rate"] == pytest.approx(2 / 5) and o["finished_rate"] == pytest.approx(2 / 3)
    diff = {d["difficulty"]: (d["pass"], d["total"]) for d in agg["difficulty"]}
    assert diff == {"easy": (2, 2), "medium": (0, 2), "hard": (0, 1)}
    cmp = compare_runs([open_run(root, tmp_path / "tasks"), open_run(SB)])
    assert cmp["runs"][0] == "run" and cmp["across"]["solved_rate"]["mean"] == pytest.approx((0.4 + 7 / 8) / 2)


def test_sample_noisy_vs_careful_compare():
    cmp = compare_runs([open_run(SB), open_run(SB_NOISY)])
    row = next(r for r in cmp["tasks"] if r["key"] == "Calc/C-01")
    assert row["statuses"] == ["pass", "fail"]  # careful says FAIL on the infeasible task, noisy says DONE
