"""Render the main window (or one panel) offscreen to PNG: ``python -m tools.screenshot``.

Used to keep the README and docs screenshots true to what the app shows.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--workspace", help="workspace to show (default: a fresh temporary one)")
    p.add_argument("--panel", default="home", help="panel id to show")
    p.add_argument("--theme", choices=("light", "dark"), default="light")
    p.add_argument("--out", required=True, help="PNG path")
    p.add_argument("--demo-job", action="store_true", help="run a demo job first so the docks have content")
    p.add_argument("--size", default="1360x860")
    args = p.parse_args(argv)

    from app.application import create_context, make_app
    from app.main_window import MainWindow
    from app.theme import apply_theme
    from backend.jobs import JobSpec

    app = make_app()
    app.setProperty("benchtop_no_dialogs", True)
    ws_dir = args.workspace or tempfile.mkdtemp(prefix="benchtop-shot-")
    ctx = create_context(ws_dir, settings_file=os.path.join(tempfile.mkdtemp(), "settings.ini"))
    apply_theme(app, args.theme)
    w = MainWindow(ctx, probe_devices=False)
    width, height = (int(x) for x in args.size.split("x"))
    w.resize(width, height)
    w.show()
    w.show_panel(args.panel)
    if args.demo_job:
        for steps in (8, 400):
            h = ctx.runner.submit(JobSpec("demo.count", {"steps": steps, "delay": 0.01}, device="cpu",
                                          label=f"demo ({steps} steps)"))
            if steps == 8:
                while not h.done:
                    app.processEvents()
                    time.sleep(0.01)
        t_end = time.monotonic() + 0.8
        while time.monotonic() < t_end:
            app.processEvents()
            time.sleep(0.01)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    w.grab().save(args.out)
    print(args.out)
    w.setProperty("benchtop_force_close", True)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
