"""Render panels at several window sizes and in both themes: ``python -m tools.ui_screenshots``.

    python -m tools.ui_screenshots --workspace WS --prepare --zoo ZOO --out docs/screenshots/ui

With ``--prepare`` the workspace is first filled with one small real run per
panel through the CLI (``tools/ui_demo_runs.py``; ``--zoo`` names a built demo zoo; runs already
there are reused). Each panel then
opens its runs the way the history does (``restore_settings`` + ``show_run``, so the plots show a
real result and the form the settings that produced it); without a run map, the newest succeeded
run of its kinds. Every panel is grabbed as ``<out>/<panel>_<W>x<H>_<theme>.png``. The theme is
switched the way the View menu does, so the pictures also check that switching repaints
everything. Used for docs/screenshots/ui.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time


# the tab each panel is grabbed on (its main result), and further views grabbed once, at the
# largest size in the first theme, as <panel>-<view>_<W>x<H>_<theme>.png
VIEWS = {"positions": "Length generalization", "prm": "ProcessBench", "tts": "Curves", "equations": "Equations",
         "merging": "Accuracy", "retrieval": "Metrics", "compression": "Bit allocation", "ttrl": "Live"}
EXTRAS = {"prm": [("steps", "Steps")], "tts": [("drilldown", "Drill-down")],
          "equations": [("extrapolation", "Extrapolation")], "merging": [("per-layer", "Per layer")],
          "positions": [("loss", "Loss")], "retrieval": [("calibration", "Calibration")]}


def select_tab(widget, title: str) -> bool:  # noqa: ANN001 - a panel (QWidget)
    """Bring the tab called ``title`` of any tab widget inside ``widget`` to the front."""
    from PySide6.QtWidgets import QTabWidget

    for tabs in widget.findChildren(QTabWidget):
        for i in range(tabs.count()):
            if tabs.tabText(i) == title:
                tabs.setCurrentIndex(i)
                return True
    return False


def _latest_runs(ctx) -> dict[str, list[str]]:  # noqa: ANN001 - an AppContext
    """The newest succeeded run of each panel's kinds (when no run map was made)."""
    from app.panels.base import panel_for_kind

    latest: dict[str, list[str]] = {}
    for run in ctx.workspace.list_runs():
        cls = panel_for_kind(run.kind)
        if cls is not None and run.status == "succeeded" and cls.panel_id != "home":
            latest.setdefault(cls.panel_id, [run.id])
    return latest


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workspace", required=True, help="workspace with the runs to show")
    p.add_argument("--out", required=True, help="folder for the PNGs")
    p.add_argument("--prepare", action="store_true", help="first make the demo runs in the workspace")
    p.add_argument("--zoo", help="with --prepare: a built demo zoo folder (without: only the steps that need none)")
    p.add_argument("--redo", default="", help="comma-separated demo steps to run again (e.g. tts,prm)")
    p.add_argument("--sizes", default="1280x720,1600x1000")
    p.add_argument("--themes", default="light,dark")
    p.add_argument("--panels", default="", help="comma-separated panel ids (default: all)")
    args = p.parse_args(argv)
    panels_only = [x for x in args.panels.split(",") if x]

    from tools.ui_demo_runs import MAP_FILE, prepare

    runs: dict[str, list[str]] = {}
    if args.prepare:
        runs = prepare(args.workspace, args.zoo, only=panels_only or None,
                       redo=tuple(x for x in args.redo.split(",") if x))
    elif os.path.isfile(os.path.join(args.workspace, MAP_FILE)):   # the runs an earlier --prepare made
        with open(os.path.join(args.workspace, MAP_FILE), encoding="utf-8") as f:
            runs = json.load(f)

    from app.application import create_context, make_app
    from app.main_window import MainWindow
    from app.theme import apply_theme

    app = make_app()
    app.setProperty("benchtop_no_dialogs", True)
    ctx = create_context(args.workspace, settings_file=os.path.join(tempfile.mkdtemp(), "settings.ini"))
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    themes = args.themes.split(",")
    apply_theme(app, themes[0])
    window = MainWindow(ctx, probe_devices=False)
    window.show()
    window.history_dock.raise_()     # the bottom dock lists the recorded runs the panels show
    runs = {**_latest_runs(ctx), **runs}

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    os.makedirs(args.out, exist_ok=True)
    panels = panels_only or window.panel_ids()
    opened: set[str] = set()
    largest = max(sizes, key=lambda s: s[0] * s[1])

    def grab(name: str, w: int, h: int, theme: str) -> None:
        pump(0.6)
        path = os.path.join(args.out, f"{name}_{w}x{h}_{theme}.png")
        window.grab().save(path)
        print(path)

    for theme in themes:
        window._set_theme(theme)
        for w, h in sizes:
            window.resize(w, h)
            pump(0.3)
            for pid in panels:
                panel = window.show_panel(pid)
                if pid not in opened:          # open once: the panel keeps showing its runs
                    opened.add(pid)
                    for run_id in runs.get(pid, []):
                        window.open_run(run_id)
                        pump(0.2)
                    if pid == "replay":       # the two ScienceBoard samples side by side
                        i = next((i for i in range(panel.cmp_box.count()) if "noisy" in panel.cmp_box.itemText(i)), -1)
                        panel.cmp_box.setCurrentIndex(max(i, 0))
                if pid in VIEWS:
                    select_tab(panel, VIEWS[pid])
                grab(pid, w, h, theme)
                if theme == themes[0] and (w, h) == largest:
                    for name, title in EXTRAS.get(pid, []):
                        if select_tab(panel, title):
                            grab(f"{pid}-{name}", w, h, theme)
    window.setProperty("benchtop_force_close", True)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
