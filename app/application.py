"""Start-up: QApplication, theme, exception hooks, the workspace, the runner, the window."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Qt is imported when the app starts, not when this module is read
    from PySide6.QtWidgets import QApplication

    from app.context import AppContext

PROCESS_START = time.perf_counter()


def create_context(workspace: str | Path | None, settings_org: str = "Benchtop",
                   settings_file: str | Path | None = None) -> AppContext:
    """Open the workspace and runner and wrap them for the GUI (needs a QApplication).

    ``settings_file`` keeps settings in an INI file instead of the user's settings store
    (tests and the self-test use it so they never touch the user's preferences).
    """
    from PySide6.QtCore import QSettings

    from app.context import AppContext
    from app.runner_bridge import QtRunner
    from backend.jobs import Runner
    from backend.workspace import Workspace, default_workspace_dir

    ws = Workspace(workspace or default_workspace_dir())  # the runner hands it to every job (ctx.workspace)
    if settings_file is not None:
        settings = QSettings(str(settings_file), QSettings.Format.IniFormat)
    else:
        settings = QSettings(settings_org, "Benchtop")
    return AppContext(ws, QtRunner(Runner(ws)), settings)


def make_app(argv: list[str] | None = None) -> QApplication:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("Benchtop")
    app.setOrganizationName("Benchtop")
    return app


def run_gui(workspace: str | None = None) -> int:
    app = make_app()
    from app.error_dialog import install_exception_hooks
    from app.main_window import MainWindow
    from app.theme import apply_theme

    install_exception_hooks()
    ctx = create_context(workspace)
    apply_theme(app, str(ctx.settings.value("theme", "system")))
    window = MainWindow(ctx)
    window.show()
    if os.environ.get("BENCHTOP_EXIT_AFTER_SHOWN"):
        # used by bench/ui_responsiveness.py: report when the first frame is up, then quit
        from PySide6.QtCore import QTimer

        def report() -> None:
            print(f"BENCHTOP_SHOWN {time.time():.6f}", flush=True)
            window.setProperty("benchtop_force_close", True)
            app.quit()

        QTimer.singleShot(0, report)
    # Plain Qt event loop. Panels follow jobs through RunControls' signals (the runner's events are
    # queued onto the GUI thread by QtRunner), so nothing awaits; an asyncio loop (qasync) would be
    # one more moving part with no user.
    return app.exec()
