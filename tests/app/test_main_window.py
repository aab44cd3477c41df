"""The main window: panels, the jobs dock, history, errors shown without crashing."""
from __future__ import annotations


from app.panels.base import Panel, broken_panels, register_panel
from backend.jobs import JobSpec


def test_every_registered_panel_builds(main_window, qtbot):
    ids = main_window.panel_ids()
    assert ids[0] == "home"
    for pid in ids:
        panel = main_window.show_panel(pid)
        assert isinstance(panel, Panel), f"panel {pid} failed to build"
    assert not broken_panels()


def test_job_from_gui_appears_finishes_and_is_in_history(main_window, qtbot):
    home = main_window.show_panel("home")
    home.run_demo()
    jobs = main_window.jobs_view
    qtbot.waitUntil(lambda: jobs.table.rowCount() == 1, timeout=5000)
    run_id = jobs.table.item(0, 0).data(0x0100)
    qtbot.waitUntil(lambda: jobs.status_of(run_id) == "done", timeout=20000)
    assert jobs.table.cellWidget(0, 2).value() == 1000
    history = main_window.history_view
    qtbot.waitUntil(lambda: run_id in history.run_ids(), timeout=5000)
    qtbot.waitUntil(lambda: "finished" in home.check_label.text(), timeout=5000)
    home.check_label.setText("")
    main_window.open_run(run_id)  # reopened from history: the panel draws it again
    assert run_id in home.check_label.text()


def test_failing_job_is_shown_not_crashing(main_window, qtbot):
    ctx = main_window.context
    h = ctx.runner.submit(JobSpec("demo.count", {"steps": 5, "fail_at": 1, "delay": 0}, device="cpu", label="boom"))
    jobs = main_window.jobs_view
    qtbot.waitUntil(lambda: jobs.status_of(h.run_id) == "failed", timeout=10000)
    msg, tb = jobs.error_of(h.run_id)
    assert "demo failure at step 1" in msg and "Traceback" in tb
    box = jobs.show_details(h.run_id)
    assert "demo failure" in box.text() and "count_job" in box.detailedText()
    box.close()
    assert main_window.isVisible()


def test_cancel_from_jobs_dock(main_window, qtbot):
    from PySide6.QtWidgets import QPushButton

    ctx = main_window.context
    h = ctx.runner.submit(JobSpec("demo.count", {"steps": 10000, "delay": 0.02}, device="cpu", label="long"))
    jobs = main_window.jobs_view
    qtbot.waitUntil(lambda: jobs.status_of(h.run_id) == "running", timeout=5000)
    button = jobs.findChild(QPushButton, f"cancel-{h.run_id}")
    button.click()
    qtbot.waitUntil(lambda: jobs.status_of(h.run_id) == "cancelled", timeout=5000)
    assert ctx.workspace.get_run(h.run_id).status == "cancelled"


def test_panel_drawing_error_becomes_dialog(main_window, qtbot):
    from app.error_dialog import recorded_errors

    @register_panel
    class Broken(Panel):
        panel_id = "test-broken"
        title = "Broken"
        kinds = ("demo.matmul",)
        order = 999

        def show_run(self, run):
            raise ValueError("cannot draw this")

    panel = Broken(main_window.context)
    before = len(recorded_errors())
    panel.submit(JobSpec("demo.matmul", {"size": 8, "reps": 1}, device="cpu"))
    qtbot.waitUntil(lambda: len(recorded_errors()) > before, timeout=10000)
    assert "cannot draw this" in recorded_errors()[-1][1]
    assert main_window.isVisible()
    from app.panels import base

    base._PANELS.pop("test-broken")


def test_device_choice_is_persisted(main_window, app_context):
    main_window.device_picker.setCurrentText("cpu")
    assert app_context.device() == "cpu"
    assert app_context.settings.value("device") == "cpu"
