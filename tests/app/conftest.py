"""Qt fixtures: a main window over a fresh workspace, settings in a temporary INI file."""
from __future__ import annotations

import pytest


@pytest.fixture
def app_context(qapp, tmp_path):
    from app.application import create_context

    qapp.setProperty("benchtop_no_dialogs", True)
    ctx = create_context(tmp_path / "ws", settings_file=tmp_path / "settings.ini")
    yield ctx
    ctx.runner.shutdown(timeout=10)
    ctx.workspace.close()


@pytest.fixture
def main_window(qtbot, app_context):
    from app.main_window import MainWindow

    w = MainWindow(app_context, probe_devices=False)
    w.setProperty("benchtop_force_close", True)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()
