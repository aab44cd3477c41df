"""Issue #18 GUI items: jobs dock, theme menu, help and about, layout at 1280x720, TTRL compare,
PRM ground truth, model-folder messages, stale plots."""
from __future__ import annotations

import json

import pyqtgraph as pg
import pytest

from backend.jobs import JobSpec
from tests.app.test_restore_and_rerun import _record


def test_jobs_dock_shows_key_settings_time_and_clears_finished(main_window, qtbot):
    jobs = main_window.jobs_view
    h = main_window.context.runner.submit(JobSpec("demo.count", {"steps": 4, "delay": 0.3}, device="cpu",
                                                  label="demo job"))
    qtbot.waitUntil(lambda: jobs.row_of(h.run_id) is not None, timeout=5000)
    row = jobs.row_of(h.run_id)
    assert "steps=4" in jobs.table.item(row, 0).text() and "delay=0.3" in jobs.table.item(row, 0).text()
    qtbot.waitUntil(lambda: jobs.table.item(jobs.row_of(h.run_id), 3).text().startswith("0:0"), timeout=10000)
    qtbot.waitUntil(lambda: jobs.status_of(h.run_id) == "done", timeout=20000)
    assert jobs.table.item(jobs.row_of(h.run_id), 3).text().startswith("0:0")  # its duration stays
    assert jobs.clear_finished() == 1 and jobs.table.rowCount() == 0 and jobs.row_of(h.run_id) is None


def test_theme_menu_is_checked_and_switching_repaints_plots(main_window, qtbot):
    main_window.show_panel("tts")
    main_window._set_theme("dark")
    assert main_window.theme_actions["dark"].isChecked() and not main_window.theme_actions["light"].isChecked()
    plot = main_window.panel("tts").acc_plot
    assert plot.backgroundBrush().color().lightness() < 80
    assert main_window.panel_list.palette().color(main_window.panel_list.backgroundRole()).lightness() < 80
    main_window._set_theme("light")
    assert main_window.theme_actions["light"].isChecked()
    assert plot.backgroundBrush().color().lightness() > 200
    assert plot.getAxis("left").textPen().color().lightness() < 100


def test_help_links_each_panel_to_its_docs_page_and_about_names_the_version(main_window):
    from app.main_window import app_version

    for pid in main_window.panel_ids():
        page = main_window.open_docs(pid)
        assert page is not None and page.is_file(), pid
    assert set(main_window.docs_actions) == set(main_window.panel_ids())
    assert app_version() != "unknown" and app_version() in main_window.about_text()


@pytest.mark.parametrize("size", [(1280, 720), (1600, 1000)])
def test_every_panel_fits_without_legend_over_data(main_window, qtbot, size):
    main_window.resize(*size)
    for pid in main_window.panel_ids():
        panel = main_window.show_panel(pid)
        qtbot.wait(30)
        assert main_window.width() <= size[0] and main_window.height() <= size[1], pid
        holder = main_window.stack.currentWidget()
        # nothing is squeezed below its minimum: the panel gets at least its minimum size, scrolling if needed
        assert holder.widget().width() >= panel.minimumSizeHint().width() - 1, pid
        for view in panel.findChildren(pg.PlotWidget):
            legend = view.getPlotItem().legend
            if legend is not None and view.isVisible() and legend.items:
                lg, vb = legend.sceneBoundingRect(), view.getPlotItem().vb.sceneBoundingRect()
                assert lg.left() >= vb.right() - 1 or lg.top() >= vb.bottom() - 1, pid  # beside or below


def test_ttrl_compare_never_defaults_to_the_same_run_and_names_them(main_window, qtbot):
    ws = main_window.context.workspace
    panel = main_window.show_panel("ttrl")
    first = _record(ws, JobSpec("ttrl.train", {"steps": 2, "lr": 5e-5}, label="ttrl first"))
    panel.refresh_runs()
    assert panel.run_a.currentData() == first and panel.run_b.currentData() is None
    second = _record(ws, JobSpec("ttrl.train", {"steps": 3, "lr": 2e-4}, label="ttrl second"))
    panel.run_a.setCurrentIndex(-1)
    panel.refresh_runs()
    assert panel.run_a.currentData() == second and panel.run_b.currentData() == first
    panel.compare()
    info = panel.compare_info.text()
    assert f"<b>A</b> = {second}" in info and f"<b>B</b> = {first}" in info and "lr=5e-05" in info
    panel.run_b.setCurrentIndex(panel.run_b.findData(second))
    panel.compare()
    assert "same run" in panel.compare_info.text()


def test_prm_shows_ground_truth_and_a_disagreement_replaces_the_form(app_context, qtbot, tmp_path):
    from app.panels.prm import PRMPanel

    panel = PRMPanel(app_context)
    qtbot.addWidget(panel)
    data = tmp_path / "pb.jsonl"
    rec = {"id": "x1", "problem": "2+3*4?", "steps": ["3*4=12", "2+12=15"], "label": 1}
    data.write_text(json.dumps(rec) + "\n")
    panel.source.set_value(str(data))
    panel._load_source()
    panel._pick_record(0)
    assert panel.truth.text() == "first error at step 2"
    panel.solution.setPlainText("something else")
    panel.prm_a.set_value("zoo:other")
    panel.bench_prm.set_value("zoo:arith-prm")
    panel.bench_threshold.setValue(0.3)
    panel._bench_samples = [{**rec, "subset": "arith", "predicted": -1, "match": False,
                             "scores": [0.9, 0.8], "step_scores": [0.9, 0.8]}]
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QListWidgetItem

    item = QListWidgetItem("x1")
    item.setData(Qt.ItemDataRole.UserRole, 0)
    panel._open_sample(item)
    assert panel.solution.toPlainText() == "3*4=12\n2+12=15" and panel.problem.toPlainText() == "2+3*4?"
    assert panel.prm_a.value() == "zoo:arith-prm" and panel.threshold.value() == pytest.approx(0.3)
    assert panel.truth.text() == "first error at step 2" and panel.split.currentText() == "line"


def test_model_picker_says_when_a_folder_is_not_a_model(qtbot, tmp_path):
    from app.widgets.pickers import ModelPicker

    p = ModelPicker()
    qtbot.addWidget(p)
    p.set_value(str(tmp_path))
    assert "not a model folder" in p.problem() and "config.json" in p.combo.toolTip()
    (tmp_path / "config.json").write_text("{}")
    p.set_value(str(tmp_path))
    assert p.problem() == "" and "border" not in p.combo.styleSheet()
    p.set_value("zoo:arith-base")
    assert p.problem() == ""


def test_plots_are_greyed_while_a_new_run_is_on_its_way(main_window, qtbot):
    home = main_window.show_panel("home")
    from app.widgets.plots import CurvePlot

    plot = CurvePlot("old", "x", "y", parent=home)
    home.run_demo()
    assert plot.graphicsEffect() is not None
    qtbot.waitUntil(lambda: plot.graphicsEffect() is None, timeout=20000)
