"""The replay panel opens the sample runs, filters, steps with overlays, compares and exports."""
from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "sample_runs"
SB = SAMPLES / "scienceboard" / "scripted_a11y-vm-screenshot+a11y_tree"
SB_NOISY = SAMPLES / "scienceboard" / "scripted_noisy-vm-screenshot+a11y_tree"
OSW = SAMPLES / "osworld" / "pyautogui" / "screenshot_a11y_tree" / "scripted_a11y"


@pytest.fixture
def panel(qtbot, app_context):
    from app.panels.replay import ReplayPanel

    p = ReplayPanel(app_context)
    qtbot.addWidget(p)
    p.resize(1300, 800)
    p.show()
    return p


def test_open_filter_step_and_highlight(qtbot, panel):
    panel.open_folder(SB)
    assert panel.tasks.rowCount() == 8 and "7/8" in panel.summary.text()
    panel.status_filter.setCurrentText("crashed")
    assert panel.tasks.rowCount() == 1 and panel.tasks.item(0, 0).text() == "Calc/B-02"
    panel.status_filter.setCurrentText("all")
    panel.show_task("Calc/A-01")
    side = panel.side_a
    assert side.view.pixmap is not None and side.view.actions[0].kind == "click"
    # the a11y row under the last click (button "2") is highlighted
    assert side.highlighted_row is not None and side.a11y.item(side.highlighted_row, 1).text() == "2"
    assert "pyautogui.click" in side.code.toPlainText() and "Enter 12" in side.code.toPlainText()
    panel.set_step(1)
    assert panel.step_index == 1 and panel.timeline.currentRow() == 1
    qtbot.waitUntil(lambda: panel.timeline.loaded_count >= 1, timeout=3000)
    # a missing screenshot is shown as missing, a tag click as unresolved
    panel.show_task("Notes/A-02")
    assert panel.side_a.view.actions[0].coords == "tag"
    panel.set_step(1)
    assert panel.side_a.view.pixmap is None and "missing" in panel.side_a.view.message


def test_play_pause(qtbot, panel):
    panel.open_folder(SB)
    panel.show_task("Calc/A-01")
    panel._timer.setInterval(20)
    panel.play_btn.setChecked(True)
    qtbot.waitUntil(lambda: not panel.play_btn.isChecked(), timeout=3000)
    assert panel.step_index == len(panel.task.steps) - 1


def test_compare_two_runs_step_aligned(panel):
    panel.open_folder(SB)
    panel.open_folder(SB_NOISY, compare=True)
    panel.show_task("Calc/C-01")
    panel.set_step(1)
    assert panel.side_b.isVisible()
    assert panel.side_a.view.caption.startswith("step 2/") and panel.side_b.view.caption.startswith("step 2/")
    assert panel.scores.rowCount() == 6  # 2 domains + overall, per run
    # the OSWorld copy of the same episodes matches tasks by instruction
    panel.open_folder(OSW, compare=True)
    panel.show_task("Calc/A-01")
    assert panel.side_b.view.pixmap is not None and "calc/" in panel.side_b.view.caption


def test_export_job(qtbot, panel, app_context, tmp_path):
    panel.open_folder(SB)
    run_id = panel.export_html(tmp_path / "r.html")
    qtbot.waitUntil(lambda: app_context.workspace.get_run(run_id).status in ("succeeded", "failed"), timeout=30000)
    assert app_context.workspace.get_run(run_id).status == "succeeded"
    assert (tmp_path / "r.html").stat().st_size > 10000
