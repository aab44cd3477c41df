"""Issue #18: a run opened from the history restores its panel's form; "Re-run with these settings"."""
from __future__ import annotations

from dataclasses import dataclass

from backend.jobs import JobSpec
from backend.params import Params, param


def _record(ws, spec: JobSpec, status: str = "succeeded"):
    from backend.jobs import events as ev

    run_id, _ = ws.create_run(spec)
    ws.record_event(ev.JobEvent(run_id, ev.STARTED, {"device": "cpu"}))
    ws.record_event(ev.JobEvent(run_id, ev.FINISHED, {"status": status}))
    return run_id


def test_opening_a_ttrl_run_restores_its_learning_rate_and_inputs(main_window, qtbot):
    ws = main_window.context.workspace
    panel = main_window.show_panel("ttrl")
    panel.form.set_values({"lr": 2e-4, "clip_ratio": 0.3})   # clip_ratio: an Advanced setting
    panel.steps.setValue(7)
    spec = JobSpec("ttrl.train", params={"steps": 3, "lr": 5e-5, "n_votes": 6, "n_train": 3},
                   inputs={"policy": "zoo:arith-policy", "prompts": "/data/p.jsonl"}, label="ttrl p")
    rid = _record(ws, spec, status="failed")  # failed runs restore too (and show their error)
    main_window.open_run(rid)
    assert main_window.current_panel() is panel
    assert abs(panel.form.values()["lr"] - 5e-5) < 1e-12
    assert panel.form.values()["clip_ratio"] == 0.2          # not in the run's params: its default
    assert panel.steps.value() == 3 and panel.votes.value() == 6 and panel.train_n.value() == 3
    assert panel.prompts.value() == "/data/p.jsonl"


def test_opening_a_tts_run_restores_strategies_and_budgets(main_window, qtbot, monkeypatch):
    ws = main_window.context.workspace
    panel = main_window.show_panel("tts")
    monkeypatch.setattr(panel, "show_run", lambda run: None)  # the result files do not exist here
    spec = JobSpec("tts.sweep", params={"strategies": ["bon", "beam"], "ns": [1, 4], "beam_width": 2,
                                        "max_steps": 5, "temperature": 0.6, "agg": "min", "seed": 3, "limit": 7},
                   inputs={"policy": "zoo:arith-policy", "data": "/data/x.jsonl"})
    main_window.open_run(_record(ws, spec))
    assert [s for s, box in panel.checks.items() if box.isChecked()] == ["bon", "beam"]
    assert panel.form.values()["ns"] == [1, 4] and panel.width_.value() == 2 and panel.agg.currentText() == "min"
    assert panel.limit.value() == 7 and panel.seed.value() == 3 and panel.data.value() == "/data/x.jsonl"
    assert panel.spec().params["ns"] == [1, 4]  # what Start would send again


def test_opening_prm_runs_restores_each_tabs_form(main_window, qtbot, monkeypatch):
    ws = main_window.context.workspace
    panel = main_window.show_panel("prm")
    monkeypatch.setattr(panel, "show_run", lambda run: None)
    bench = JobSpec("prm.processbench", params={"prm": "zoo:arith-genprm", "threshold": 0.3, "limit": 40,
                                                "preset": "genprm", "samples": 4},
                    inputs={"data": "/data/pb.jsonl"})
    main_window.open_run(_record(ws, bench))
    got = panel.bench_form.values()
    assert (got["threshold"], got["limit"], got["preset"], got["samples"]) == (0.3, 40, "genprm", 4)
    assert panel.bench_prm.value() == "zoo:arith-genprm" and panel.bench_data.value() == "/data/pb.jsonl"
    assert panel.score_form.values()["threshold"] == 0.5    # the other tab's form is left alone
    assert panel.bench_spec().params["limit"] == 40          # what Evaluate would send again
    score = JobSpec("prm.score", params={"prm": "zoo:arith-prm", "split": "line", "threshold": 0.7,
                                         "items": [{"problem": "2+3", "solution": "2+3=5"}]})
    main_window.open_run(_record(ws, score))
    got = panel.score_form.values()
    assert (got["split"], got["threshold"], got["samples"]) == ("line", 0.7, 0)
    assert panel.problem.toPlainText() == "2+3" and panel.prm_a.value() == "zoo:arith-prm"


@dataclass
class _ToySettings(Params):
    """Settings of a toy panel."""

    rate: float = param(2e-4, title="Rate", min=0.0, log=True)
    steps: int = param(10, title="Steps", min=1)


def test_default_restore_fills_every_params_form_and_rerun_submits_the_same_spec(app_context, qtbot, monkeypatch):
    from app.panels.base import Panel
    from app.widgets.params_form import ParamsForm

    class Toy(Panel):
        panel_id = "toy-restore"

        def __init__(self, context):
            super().__init__(context)
            self.form = ParamsForm(_ToySettings, parent=self)

    panel = Toy(app_context)
    qtbot.addWidget(panel)
    spec = JobSpec("demo.count", params={"rate": 5e-5, "steps": 3, "delay": 0}, label="toy")
    rid = _record(app_context.workspace, spec)
    run = app_context.workspace.get_run(rid)
    panel.restore_settings(run)
    assert panel.form.values()["rate"] == 5e-5 and panel.form.values()["steps"] == 3
    sent = []
    monkeypatch.setattr(panel, "submit", lambda s: sent.append(s) or "new-run")
    assert panel.rerun(run) == "new-run"
    assert sent[0].kind == "demo.count" and sent[0].params == spec.params and rid in sent[0].label


def test_history_rerun_button_runs_the_selected_run_again(main_window, qtbot):
    ws = main_window.context.workspace
    rid = _record(ws, JobSpec("demo.count", {"steps": 2, "delay": 0}, label="demo job"))
    history = main_window.history_view
    history.refresh()
    history.table.selectRow(history.run_ids().index(rid))
    with qtbot.waitSignal(main_window.context.runner.event, timeout=5000):
        history.rerun_button.click()
    qtbot.waitUntil(lambda: len(ws.list_runs()) == 2, timeout=5000)
    new = next(r for r in ws.list_runs() if r.id != rid)
    assert new.spec.params == {"steps": 2, "delay": 0} and f"re-run of {rid}" in new.label
    qtbot.waitUntil(lambda: ws.get_run(new.id).status == "succeeded", timeout=20000)
