"""The TTS panel submits a small real sweep, then draws curves, the difficulty view and a tree."""
from __future__ import annotations

import json

import pytest


@pytest.fixture
def tiny_setup(tmp_path):
    from backend.ttrl.tiny import build_tiny_policy

    policy = build_tiny_policy(tmp_path / "policy", seed=4)
    data = tmp_path / "problems.jsonl"
    data.write_text("".join(json.dumps({"problem": p, "answer": a, "level": 1}) + "\n"
                            for p, a in [("(4+5)*2", "18"), ("9-4", "5")]))
    return policy, data


def test_panel_runs_a_sweep_and_shows_it(qtbot, app_context, tiny_setup):
    import torch

    from app.panels.tts import TTSPanel

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    policy, data = tiny_setup
    panel = TTSPanel(app_context)
    qtbot.addWidget(panel)
    panel.resize(1300, 850)
    panel.show()
    panel.policy.set_value(str(policy))
    panel.prm.set_value("reference:arithmetic")
    panel.data.set_value(str(data))
    panel.ns.setText("1,2")
    panel.width_.setValue(2)
    panel.steps.setValue(2)
    panel.checks["bon"].setChecked(False)

    panel.ns.setText("1,x")
    assert panel.start() is None and "comma-separated" in panel.status.text()
    panel.ns.setText("1,2")

    app_context.set_device_getter(lambda: "cpu")
    run_id = panel.start()
    assert run_id and not panel.run_btn.isEnabled()
    spec = app_context.workspace.get_run(run_id).spec
    assert spec.params["strategies"] == ["greedy", "majority", "weighted_bon", "beam", "dvts"]
    qtbot.waitUntil(lambda: app_context.workspace.get_run(run_id).status in ("succeeded", "failed"), timeout=120_000)
    qtbot.waitUntil(lambda: panel.run_btn.isEnabled(), timeout=10_000)
    torch.set_num_threads(threads)
    run = app_context.workspace.get_run(run_id)
    assert run.status == "succeeded", run.error
    assert panel.summary is not None and set(panel.acc_plot.curve_names()) == {
        "greedy", "majority vote", "weighted BoN", "beam search", "DVTS"}
    assert panel.optimal_table.rowCount() >= 2               # "all" + at least one difficulty bin
    assert panel.pick_problem.count() == 2 and panel.pick_strategy.currentText() == "beam"
    assert panel.tree.node_count > 0 and panel.cand_table.columnCount() > 0
    panel.pick_strategy.setCurrentText("majority")
    assert "majority vote, N=2" in panel.tree_info.text()

    # reopening from the history redraws the same
    panel.summary = None
    panel.show_run(app_context.workspace.get_run(run_id))
    assert panel.summary["ns"] == [1, 2]


def test_prm_picker_keeps_its_default_without_a_zoo(qtbot, app_context):
    from app.panels.tts import REFERENCE, TTSPanel

    panel = TTSPanel(app_context)
    qtbot.addWidget(panel)
    assert panel.prm.value() == "zoo:arith-genprm"
    assert panel.prm.combo.findText(REFERENCE) >= 0
