"""The TTRL panel submits a real (tiny) job, draws its live curves and rollouts, and compares runs."""
from __future__ import annotations

import json

import pytest


@pytest.fixture
def tiny_setup(tmp_path):
    from backend.ttrl.tiny import build_tiny_policy

    policy = build_tiny_policy(tmp_path / "policy")
    problems = [("12+7", "19"), ("3*4", "12"), ("20-5", "15")]
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"problem": p}) + "\n" for p, _ in problems))
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("".join(json.dumps({"problem": p, "answer": a}) + "\n" for p, a in problems))
    return policy, prompts, labelled


def test_panel_runs_a_small_job_and_shows_it(qtbot, app_context, tiny_setup):
    from app.panels.ttrl import TTRLPanel

    policy, prompts, labelled = tiny_setup
    panel = TTRLPanel(app_context)
    qtbot.addWidget(panel)
    panel.resize(1300, 800)
    panel.show()
    panel.policy.set_value(str(policy))
    panel.prompts.set_value(str(prompts))
    panel.labelled.set_value(str(labelled))
    panel.steps.setValue(2)
    panel.per_step.setValue(2)
    panel.votes.setValue(4)
    panel.train_n.setValue(4)
    panel.eval_every.setValue(1)
    panel.eval_n.setValue(2)
    app_context.set_device_getter(lambda: "cpu")
    run_id = panel.start()
    assert run_id and not panel.start_btn.isEnabled() and panel.stop_btn.isEnabled()
    qtbot.waitUntil(lambda: app_context.workspace.get_run(run_id).status in ("succeeded", "failed"), timeout=90_000)
    qtbot.waitUntil(lambda: panel.start_btn.isEnabled(), timeout=10_000)
    run = app_context.workspace.get_run(run_id)
    assert run.status == "succeeded", run.error
    panel._redraw()
    assert {"pass@1", "maj@N"} <= set(panel.eval_plot.curve_names())
    assert "majority_ratio" in panel.train_plot.curve_names()
    assert panel.groups_table.rowCount() == 2 and panel.samples_table.rowCount() == 4
    series = app_context.workspace.metrics(run_id)
    assert [s for s, _ in series["reward_mean"]] == [1, 2]

    # too many training rollouts is refused with a message, not a job
    panel.train_n.setValue(8)
    assert panel.start() is None and "cannot exceed" in panel.status.text()
    panel.train_n.setValue(4)

    # resume the finished run to a longer horizon, then compare the two runs
    panel.steps.setValue(3)
    second = panel.resume()
    qtbot.waitUntil(lambda: app_context.workspace.get_run(second).status in ("succeeded", "failed"), timeout=90_000)
    assert app_context.workspace.get_run(second).status == "succeeded"
    assert [s for s, _ in app_context.workspace.metrics(second)["reward_mean"]] == [3]
    qtbot.waitUntil(lambda: panel.start_btn.isEnabled(), timeout=10_000)
    panel.refresh_runs()
    panel.run_a.setCurrentIndex(panel.run_a.findData(run_id))
    panel.run_b.setCurrentIndex(panel.run_b.findData(second))
    panel.compare_metric.setCurrentText("reward_mean")
    panel.compare()
    assert len(panel.compare_plot.curve_names()) == 2


def test_samples_follow_the_latest_rollouts(qtbot, app_context, tmp_path):
    """A new step's rollouts replace the samples shown, even when the selected row stays the same
    (the table kept showing the first step's samples for the whole run)."""
    import json

    from app.panels.ttrl import TTRLPanel

    panel = TTRLPanel(app_context)
    qtbot.addWidget(panel)

    def rollouts(step: int, answers: list[str]):
        samples = [{"answer": a, "votes": answers.count(a), "reward": 1.0, "advantage": 0.0, "trained": True,
                    "text": f"Answer: {a}"} for a in answers]
        path = tmp_path / f"rollouts_{step}.json"
        path.write_text(json.dumps({"step": step, "groups": [
            {"problem": f"p{step}", "label": answers[0], "majority_ratio": 1.0, "samples": samples}]}))
        return path

    panel._load_rollouts(rollouts(1, ["5", "5"]))
    assert panel.samples_table.cell_text(0, 1) == "5"
    panel._load_rollouts(rollouts(2, ["7", "7", "7"]))
    assert panel.samples_table.rowCount() == 3 and panel.samples_table.cell_text(0, 1) == "7"
