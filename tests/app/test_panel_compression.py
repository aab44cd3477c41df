"""The compression panel submits a real small job on tiny random Llama folders and draws it."""
from __future__ import annotations

import pytest


@pytest.fixture
def pair(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))
    from test_compression_artifact import _make

    base = _make(tmp_path / "base", 0)
    return base, _make(tmp_path / "ft", 1, base=base)


def test_panel_compresses_draws_and_exports(qtbot, app_context, pair, tmp_path):
    from app.panels.compression import CompressionPanel

    base, ft = pair
    panel = CompressionPanel(app_context)
    qtbot.addWidget(panel)
    panel.resize(1300, 820)
    panel.show()
    panel.base.set_value(str(base))
    panel.ft.set_value(str(ft))
    panel.bits.setValue(2.0)
    app_context.set_device_getter(lambda: "cpu")
    run_id = panel.start()
    assert not panel.start_btn.isEnabled() and panel.cancel_btn.isEnabled()
    qtbot.waitUntil(lambda: app_context.workspace.get_run(run_id).status in ("succeeded", "failed"), timeout=60_000)
    qtbot.waitUntil(lambda: panel.start_btn.isEnabled(), timeout=10_000)
    run = app_context.workspace.get_run(run_id)
    assert run.status == "succeeded", run.error
    qtbot.waitUntil(lambda: panel._run is not None, timeout=10_000)
    names = panel.err_plot.curve_names()
    assert {n.split(" (↑")[0] for n in names} == {"Delta-DCT", "BitDelta", "DARE", "Magnitude pruning",
                                                  "Low-rank (SVD)", "this run"}
    # a method whose errors are above the axis (it stops at ERR_CAP) says so in its legend name
    from app.panels.compression import ERR_CAP, METHODS

    above = {METHODS[p["method"]] for p in run.result["sweep"] if p["rel_err"] > ERR_CAP}
    assert {n.split(" (↑")[0] for n in names if "↑" in n} == above and above   # DARE, at this size
    assert panel.points.rowCount() == 1 + 5 * 4 - 1          # no BitDelta below 1 bit
    assert panel.tensor.count() == 1 + len(run.result["tensors"]) and panel.heatmap.image.image is not None
    panel.tensor.setCurrentIndex(2)                                  # one tensor's patch grid
    assert "patch" in panel.heatmap.plot.titleLabel.text
    assert "bits/param" in panel.summary.text()
    # a run without the sweep (the CLI's `compress`) still shows its own point, not an empty plot
    panel.curves.setChecked(False)
    single = panel.start()
    qtbot.waitUntil(lambda: app_context.workspace.get_run(single).status in ("succeeded", "failed"), timeout=60_000)
    qtbot.waitUntil(lambda: panel.start_btn.isEnabled(), timeout=10_000)
    panel.show_run(app_context.workspace.get_run(single))
    assert panel.err_plot.curve_names() == ["this run"]
    out = panel.export_artifact(str(tmp_path / "copy"))
    assert (out / "delta.safetensors").is_file()
    dec = panel.export_model(str(tmp_path / "model"))
    qtbot.waitUntil(lambda: app_context.workspace.get_run(dec).status in ("succeeded", "failed"), timeout=60_000)
    assert app_context.workspace.get_run(dec).status == "succeeded"
    assert (tmp_path / "model" / "model.safetensors").is_file()


def test_panel_distills_scales_on_calibration_text(qtbot, app_context, tiny_zoo):
    from app.panels.compression import CompressionPanel

    panel = CompressionPanel(app_context)
    qtbot.addWidget(panel)
    panel.base.set_value(str(tiny_zoo / "arith-base"))
    panel.ft.set_value(str(tiny_zoo / "arith-ft-add"))
    panel.curves.setChecked(False)
    panel.evaluate.setChecked(False)
    panel.distill.setChecked(True)
    panel.calibration.set_value("")
    assert panel.start() is None and "calibration text" in panel.status.text()
    panel.calibration.set_value(str(tiny_zoo / "data" / "problems_train.jsonl"))
    panel.method.setCurrentIndex(panel.method.findData("dare"))
    assert panel.start() is None and "not DARE" in panel.status.text()
    panel.method.setCurrentIndex(panel.method.findData("delta-dct"))
    panel.distill_steps.setValue(10)
    app_context.set_device_getter(lambda: "cpu")
    run_id = panel.start()
    qtbot.waitUntil(lambda: app_context.workspace.get_run(run_id).status in ("succeeded", "failed"), timeout=60_000)
    run = app_context.workspace.get_run(run_id)
    assert run.status == "succeeded", run.error
    assert run.result["distill"]["steps"] == 10
    qtbot.waitUntil(lambda: panel._run is not None, timeout=10_000)
    assert "scales distilled on problems_train.jsonl" in panel.summary.text()


def test_panel_suggests_the_fine_tunes_own_training_text(qtbot, app_context, tiny_zoo, tmp_path):
    from app.panels.compression import CompressionPanel

    panel = CompressionPanel(app_context)
    qtbot.addWidget(panel)
    panel._zoo = tiny_zoo                       # the workspace zoo of this test is not built
    panel.ft.set_value(str(tiny_zoo / "arith-ft-mul"))
    assert panel.calibration.value() == str(tiny_zoo / "data" / "task_mul_train.jsonl")
    panel.ft.set_value(str(tmp_path))           # not a zoo fine-tune: the zoo's chain problems
    assert panel.calibration.value() == str(tiny_zoo / "data" / "problems_train.jsonl")
    panel.calibration.set_value(str(tmp_path / "mine.txt"))
    panel.ft.set_value(str(tiny_zoo / "arith-ft-add"))
    assert panel.calibration.value() == str(tmp_path / "mine.txt")   # the user's choice stays
