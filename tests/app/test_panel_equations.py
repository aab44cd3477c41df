"""The equation-discovery panel submits small real jobs and draws what they found."""
from __future__ import annotations


def _wait(qtbot, ctx, panel, run_id):
    qtbot.waitUntil(lambda: ctx.workspace.get_run(run_id).status in ("succeeded", "failed", "cancelled"),
                    timeout=60_000)
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


def test_panel_second_order_selection_and_restore(qtbot, app_context, tmp_path):
    """An encoder angle fitted second order with selection: the selection curve marks the chosen
    support, notes say what the fit decided, and a run opened later restores its form."""
    import numpy as np

    from app.panels.equations import EquationsPanel
    from backend.equations import data, systems

    t, x, _ = systems.simulate("pendulum", 0.0, 0, t_end=10.0, dt=0.01)
    csv = tmp_path / "angle.csv"
    csv.write_text(data.to_csv_text(t, np.rad2deg(x[:, :1]), ["theta"]))
    app_context.set_device_getter(lambda: "cpu")
    panel = EquationsPanel(app_context)
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    panel.source.setCurrentIndex(1)
    panel.data.set_value(str(csv))
    panel.library.setText("poly1+trig1")
    panel.form.set_values({"order": 2, "degrees": True, "select": True, "formulation": "weak",
                           "derivative": "savgol", "window": 31})
    run = _wait(qtbot, app_context, panel, panel.start("fit"))
    assert run.result["equations"][0] == "dtheta/dt = 1.0*theta_t"
    assert any("chosen" in n for n in panel.selection_plot.curve_names())
    assert "degrees to radians" in panel.notes_label.text()
    assert "formulation weak" in panel.status.text()

    panel.form.set_values({"order": 1, "degrees": False})
    panel.library.setText("poly3")
    panel.restore_settings(app_context.workspace.get_run(run.id))  # as when opened from the history
    assert panel.form.values()["order"] == 2 and panel.form.values()["degrees"] is True
    assert panel.library.text() == "poly1+trig1"
    assert panel.form.editor("train_fraction").minimum() == 0.1   # limits come from FitSettings


def test_equations_are_typeset_in_the_theme_text_colour(qapp):
    """Transparent background, the given text colour: no white block in the dark theme."""

    from app.panels.equations import latex_pixmap

    img = latex_pixmap([r"\dot{x} = -x"], color="#ffffff").toImage()
    assert img.hasAlphaChannel() and img.pixelColor(0, 0).alpha() == 0
    inked = [img.pixelColor(x, y) for x in range(img.width()) for y in range(img.height())
             if img.pixelColor(x, y).alpha() > 200]
    assert inked and all(c.lightness() > 200 for c in inked)
