"""Render panels at several window sizes and in both themes: ``python -m tools.ui_screenshots``.

Each panel first opens the newest succeeded run of its kinds in the workspace (so the plots show
a real result and the form the settings that produced it), then is grabbed as
``<out>/<panel>_<W>x<H>_<theme>.png``. The theme is switched the way the View menu does, so the
pictures also check that switching repaints everything. Used for docs/screenshots/ui.
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
    p.add_argument("--workspace", required=True, help="workspace with the runs to show")
    p.add_argument("--out", required=True, help="folder for the PNGs")
    p.add_argument("--sizes", default="1280x720,1600x1000")
    p.add_argument("--themes", default="light,dark")
    p.add_argument("--panels", default="", help="comma-separated panel ids (default: all)")
    args = p.parse_args(argv)

    from app.application import create_context, make_app
    from app.main_window import MainWindow
    from app.panels.base import panel_for_kind
    from app.theme import apply_theme

    app = make_app()
    app.setProperty("benchtop_no_dialogs", True)
    ctx = create_context(args.workspace, settings_file=os.path.join(tempfile.mkdtemp(), "settings.ini"))
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    themes = args.themes.split(",")
    apply_theme(app, themes[0])
    window = MainWindow(ctx, probe_devices=False)
    window.show()
    latest: dict[str, str] = {}
    for run in ctx.workspace.list_runs():
        cls = panel_for_kind(run.kind)
        if cls is not None and run.status == "succeeded" and cls.panel_id != "home":
            latest.setdefault(cls.panel_id, run.id)

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    os.makedirs(args.out, exist_ok=True)
    panels = args.panels.split(",") if args.panels else window.panel_ids()
    for i, theme in enumerate(themes):
        window._set_theme(theme)
        for j, (w, h) in enumerate(sizes):
            window.resize(w, h)
            pump(0.3)
            for pid in panels:
                window.show_panel(pid)
                if pid in latest and i == j == 0:
                    window.open_run(latest[pid])
                pump(0.6)
                path = os.path.join(args.out, f"{pid}_{w}x{h}_{theme}.png")
                window.grab().save(path)
                print(path)
    window.setProperty("benchtop_force_close", True)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
