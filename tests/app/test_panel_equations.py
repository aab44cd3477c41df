"""The equation-discovery panel submits small real jobs and draws what they found."""
from __future__ import annotations

import pytest


def _wait(qtbot, ctx, panel, run_id):
    qtbot.waitUntil(lambda: ctx.workspace.get_run(run_id).status in ("succeeded", "failed", "cancelled"), timeout=60_000)
    qtbot.waitUntil(lambda: panel.fit_btn.isEnabled(), timeout=10_000)
    run = ctx.workspace.get_run(run_id)
    assert run.status == "succeeded", run.error
    return run


def test_panel_fits_and_runs_the_loop(qtbot, app_context, tmp_path):
    from app.panels.equations import EquationsPanel

    app_context.set_device_getter(lambda: "cpu")
    panel = EquationsPanel(app_context)
    qtbot.addWidget(panel)
    panel.resize(1300, 800)
    panel.show()
    panel.system.setCurrentText("vanderpol")
    assert panel.library.text() == "poly3"
    run_id = panel.start("fit")
    assert run_id and not panel.fit_btn.isEnabled() and panel.stop_btn.isEnabled()
    run = _wait(qtbot, app_context, panel, run_id)
    assert run.result["metrics"]["support_correct"]
    assert not panel.eq_label.pixmap().isNull()
    assert {"x", "y"} <= set(panel.series_plot.curve_names())
    assert {"x model", "y data"} <= set(panel.extrap_plot.curve_names())
    assert panel.metrics_table.rowCount() >= 5

    panel.system.setCurrentText("pendulum")
    panel.library.setText("poly1")
    panel.rounds.setValue(3)
    run = _wait(qtbot, app_context, panel, panel.start("discover"))
    assert panel.round_list.count() >= 2 and "sin(theta)" in panel.round_text.toPlainText()
    assert panel.round_images.layout().count() == 6  # three titled images

    panel.source.setCurrentIndex(1)
    assert panel.start("fit") is None and "choose a data file" in panel.status.text()
