"""``python main.py --self-test``: build the window offscreen, run one real job, report.

Used by the packaged app's smoke test: any exception (in the window, the job or a panel) makes
it exit non-zero with the error printed.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time


def run_self_test(workspace: str | None = None, fail: bool = False, timeout: float = 60.0) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.application import create_context, make_app

    app = make_app()
    app.setProperty("benchtop_no_dialogs", True)
    from app.error_dialog import recorded_errors
    from app.main_window import MainWindow
    from app.panels.base import broken_panels
    from app.theme import apply_theme
    from backend.jobs import JobSpec

    ws_dir = workspace or tempfile.mkdtemp(prefix="benchtop-selftest-")
    ctx = create_context(ws_dir, settings_file=os.path.join(ws_dir, "selftest-settings.ini"))
    apply_theme(app, "light")
    window = MainWindow(ctx, probe_devices=False)
    window.show()
    app.processEvents()
    for pid in window.panel_ids():  # every panel must build
        window.show_panel(pid)
        app.processEvents()
    params = {"steps": 5, "delay": 0.01}
    if fail:
        params["fail_at"] = 2
    handle = ctx.runner.submit(JobSpec("demo.count", params, device="cpu", label="self-test"))
    deadline = time.monotonic() + timeout
    while not handle.done and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()
    problems: list[str] = []
    if not handle.done:
        problems.append("the self-test job did not finish in time")
    elif handle.status != "succeeded":
        problems.append(f"the self-test job {handle.status}: {handle.error}\n{handle.traceback or ''}")
    problems += [f"panel module {m} failed to import:\n{tb}" for m, tb in broken_panels().items()]
    problems += [f"{s}\n{d}" for s, d in recorded_errors()]
    window.setProperty("benchtop_force_close", True)
    window.close()
    ctx.workspace.close()
    if problems:
        print("self-test FAILED:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    print(f"self-test passed: window built with {len(window.panel_ids())} panels; job {handle.run_id} succeeded")
    return 0
