"""Issue #18: a file dialog showing the workspace folder orphaned runs.db-wal (the dialog sniffs
runs.db, and closing that descriptor drops SQLite's POSIX locks). The workspace now notices."""
from __future__ import annotations

import time
from pathlib import Path

from backend.jobs import JobSpec
from tests.backend.test_wal_guard import runs_seen_by_another_process


def test_runs_stay_visible_to_other_processes_after_a_file_dialog(qtbot, app_context):
    from PySide6.QtWidgets import QFileDialog

    ws = app_context.workspace
    ws.create_run(JobSpec("demo.count", {}))
    dialog = QFileDialog(None, "Choose a file", str(ws.root))
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    qtbot.addWidget(dialog)
    dialog.show()
    end = time.monotonic() + 2.0
    while time.monotonic() < end:  # let the dialog list the folder and gather file types
        qtbot.wait(50)
    dialog.close()
    assert runs_seen_by_another_process(ws.root) == 1
    ws.create_run(JobSpec("demo.count", {}))
    assert Path(str(ws.db_path) + "-wal").exists()
    assert runs_seen_by_another_process(ws.root) == 2
