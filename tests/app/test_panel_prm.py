"""The PRM panel submits real (tiny) scoring and ProcessBench jobs and draws their results."""
from __future__ import annotations

import json

from tests.backend._prm_models import make_prm


def test_panel_scores_compares_and_evaluates(qtbot, app_context, tmp_path):
    from app.panels.prm import PRMPanel

    prm_a = make_prm(tmp_path / "a", "token-classification")
    prm_b = make_prm(tmp_path / "b", "causal-lm-tokens", seed=1)
    app_context.set_device_getter(lambda: "cpu")
    panel = PRMPanel(app_context)
    qtbot.addWidget(panel)
    panel.resize(1200, 800)
    panel.show()

    assert panel.score() is None and "first" in panel.status.text()   # nothing entered: message, no job
    panel.problem.setPlainText("(3+4)*5")
    panel.solution.setPlainText("Step 1: 3+4=7\nStep 2: 7*5=36\nAnswer: 36")
    panel.prm_a.set_value(str(prm_a))
    panel.compare.setChecked(True)
    panel.prm_b.set_value(str(prm_b))
    run_id = panel.score()
    qtbot.waitUntil(lambda: app_context.workspace.get_run(run_id).status in ("succeeded", "failed"), timeout=60_000)
    run = app_context.workspace.get_run(run_id)
    assert run.status == "succeeded", run.error
    qtbot.waitUntil(lambda: len(panel.col_a.cards) == 2, timeout=10_000)
    assert panel.col_b.isVisible() and len(panel.col_b.cards) == 2
    rec = run.result["records"][0]
    assert rec["steps"] == ["3+4=7", "7*5=36"] and len(rec["b"]["step_scores"]) == 2

    data = tmp_path / "pb.jsonl"
    rows = [{"id": f"gsm8k-{i}", "problem": "2+3", "steps": ["2+3=5", "5*2=10"], "label": lab}
            for i, lab in enumerate([-1, 0, 1])]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows) + "oops\n")
    panel.bench_prm.set_value(str(prm_a))
    panel.bench_data.set_value(str(data))
    bench_id = panel.run_bench()
    qtbot.waitUntil(lambda: app_context.workspace.get_run(bench_id).status in ("succeeded", "failed"), timeout=60_000)
    assert app_context.workspace.get_run(bench_id).status == "succeeded"
    qtbot.waitUntil(lambda: panel.f1_table.rowCount() == 2, timeout=10_000)
    # the result is drawn before the controls hear "finished" (then the line reads "Done in ... <report>")
    qtbot.waitUntil(lambda: "1 bad lines" in panel.bench_status.text(), timeout=10_000)
    assert "average" in panel.sweep_plot.curve_names()
    assert panel.disagree.count() >= 1
    panel._open_sample(panel.disagree.item(0))
    assert panel.tabs.currentIndex() == 0 and len(panel.col_a.cards) == 2 and not panel.col_b.isVisible()
