"""The merging panel runs T-Switch and TIES on the tiny zoo, draws them, routes a prompt,
imports and exports a mergekit YAML."""
from __future__ import annotations

import os

import pytest


def _wait(qtbot, ctx, run_id):
    qtbot.waitUntil(lambda: ctx.workspace.get_run(run_id).status in ("succeeded", "failed"), timeout=120_000)
    run = ctx.workspace.get_run(run_id)
    assert run.status == "succeeded", run.error
    return run


def test_panel_tswitch_ties_autoswitch_and_yaml(qtbot, app_context, tiny_zoo, tmp_path):
    from app.panels.merging import MergingPanel

    panel = MergingPanel(app_context)
    qtbot.addWidget(panel)
    panel.resize(1360, 860)
    panel.show()
    panel.base.set_value(str(tiny_zoo / "arith-base"))
    panel.fts.clear()
    for t in ("add", "sub", "upper"):
        panel.fts.addItem(str(tiny_zoo / f"arith-ft-{t}"))
    panel.limit.setValue(8)
    app_context.set_device_getter(lambda: "cpu")
    panel.method.setCurrentIndex(panel.method.findData("tswitch"))
    run_id = panel.start()
    assert not panel.run_btn.isEnabled()
    run = _wait(qtbot, app_context, run_id)
    qtbot.waitUntil(lambda: panel._run is not None and panel.run_btn.isEnabled(), timeout=10_000)
    labels = [panel.acc_table.cell_text(i, 0) for i in range(panel.acc_table.rowCount())]
    assert labels == ["base", "ft-add", "ft-sub", "ft-upper", "T-Switch (oracle task)"]
    assert panel.storage.rowCount() == 3 and "% of fp32" in panel.summary.text()
    assert panel.heatmap.image.image is not None and panel.route_btn.isEnabled()
    assert len(run.result["layers"]["cols"]) == 4
    if os.environ.get("BENCHTOP_SCREENSHOTS"):
        panel.grab().save(os.path.join(os.environ["BENCHTOP_SCREENSHOTS"], "merging_tswitch.png"))
    auto = panel.route()
    arun = _wait(qtbot, app_context, auto)
    assert sum(arun.result["weights"].values()) == pytest.approx(1.0)
    qtbot.waitUntil(lambda: "weights:" in panel.route_out.text(), timeout=10_000)

    panel.method.setCurrentIndex(panel.method.findData("ties"))
    panel.density.setValue(0.5)
    yml = tmp_path / "ties.yml"
    panel.save_config(str(yml))
    assert "merge_method: ties" in yml.read_text()
    panel.method.setCurrentIndex(0)
    panel.load_config(str(yml))
    assert panel.method.currentData() == "ties" and panel.density.value() == pytest.approx(0.5)
    panel.compute.set_values({"shards": 2})                 # the evaluations in two shards
    run_id = panel.start()
    run = _wait(qtbot, app_context, run_id)
    assert (run.result["executor"], run.result["shards"]) == ("local", 2)
    qtbot.waitUntil(lambda: panel._run is not None and panel._run.id == run_id, timeout=10_000)
    assert panel.acc_table.cell_text(panel.acc_table.rowCount() - 1, 0) == "merged (ties)"
    # opened from the history in a fresh panel, the form lists the models that were merged
    other = MergingPanel(app_context)
    qtbot.addWidget(other)
    other.show_run(app_context.workspace.get_run(run_id))
    assert other.base.value() == str(tiny_zoo / "arith-base")
    assert other.finetunes() == [str(tiny_zoo / f"arith-ft-{t}") for t in ("add", "sub", "upper")]
    assert other.compute.changes() == {"shards": 2} and other.method.currentData() == "ties"
    out = panel.export_to(str(tmp_path / "copy"))
    assert (out / "config.json").is_file()
    bad = tmp_path / "bad.yml"
    bad.write_text("merge_method: ties\nslices: []\nmodels: [a]\n")
    panel.load_config(str(bad))
    assert "slices" in panel.status.text()


def test_panel_reports_a_bad_model_with_its_path(qtbot, app_context, tiny_zoo, tmp_path):
    from app.panels.merging import MergingPanel

    panel = MergingPanel(app_context)
    qtbot.addWidget(panel)
    panel.base.set_value(str(tiny_zoo / "arith-base"))
    panel.fts.clear()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((tiny_zoo / "arith-ft-add" / "config.json").read_text())
    (broken / "model.safetensors").write_bytes(b"garbage")
    panel.fts.addItem(str(broken))
    panel.method.setCurrentIndex(panel.method.findData("ties"))
    app_context.set_device_getter(lambda: "cpu")
    run_id = panel.start()
    qtbot.waitUntil(lambda: app_context.workspace.get_run(run_id).status == "failed", timeout=60_000)
    qtbot.waitUntil(lambda: "Failed" in panel.status.text(), timeout=10_000)
    assert str(broken / "model.safetensors") in panel.status.text()
    assert panel.run_btn.isEnabled()


def test_panel_method_controls(qtbot, app_context):
    from app.panels.merging import MergingPanel

    panel = MergingPanel(app_context)
    qtbot.addWidget(panel)
    panel.method.setCurrentIndex(panel.method.findData("slerp"))
    assert panel.t.isEnabled() and not panel.density.isEnabled()
    panel.t.setValue(0.3)
    assert panel.params() == {"t": pytest.approx(0.3)}
    panel.method.setCurrentIndex(panel.method.findData("model_stock"))
    assert panel.params() == {} and not panel.weight.isEnabled()
    panel.method.setCurrentIndex(panel.method.findData("tswitch"))
    assert panel.knob.isEnabled() and not panel.t.isEnabled()
    panel.form.set_values({"knob": "row"})
    assert panel.params()["knob"] == "row"
