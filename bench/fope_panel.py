"""Screenshots of the Position embeddings panel as docs/fope.md shows them (light and dark, 1280x720).

    python bench/fope_panel.py [--out docs/screenshots] [--steps 300] [--seeds 0,1]

Builds the panel's own jobs (all four variants × the seeds, tiny settings so it takes a few minutes
on CPU) on the built-in pydoc text and runs them to the end before drawing. A first version
painted while the jobs trained and once died in PySide6 ("none_dealloc") under heavy load. Then it
opens the runs as from the history and grabs each tab, in the light theme and in the dark one.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from _common import grab_when  # noqa: E402 - after the sys.path line


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="docs/screenshots")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--from-workspace", help="redraw the fope.train runs of this workspace instead of training")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.application import create_context, make_app
    from app.panels.positions import PositionsPanel
    from app.theme import apply_theme

    app = make_app()
    app.setProperty("benchtop_no_dialogs", True)
    apply_theme(app, "light")
    ctx = create_context(args.from_workspace or tempfile.mkdtemp(prefix="fope-shot-"),
                         settings_file=os.path.join(tempfile.mkdtemp(), "s.ini"))
    ctx.set_device_getter(lambda: "cpu")
    out = Path(args.out)
    setup = PositionsPanel(ctx)
    for cb in setup.variant_boxes.values():
        cb.setChecked(True)
    setup.seeds.setText(args.seeds)
    setup.form.set_values({"steps": args.steps, "d_model": 64, "heads": 2, "batch": 16})
    if args.from_workspace:
        run_ids = [r.id for r in reversed(ctx.workspace.list_runs("fope.train")) if r.status == "succeeded"]
    else:
        handles = [ctx.runner.submit(spec) for spec in setup.specs()]
        for h in handles:
            h.wait()
            print(f"{h.run_id}: {h.status}", flush=True)
        run_ids = [h.run_id for h in handles]
    for theme in ("light", "dark"):
        apply_theme(app, theme)
        panel = PositionsPanel(ctx)     # built after the theme, as the app builds its panels
        panel.resize(1280, 720)
        panel.show()
        panel.show_runs([ctx.workspace.get_run(rid) for rid in run_ids])
        for i, name in ((0, "loss"), (1, "length"), (2, "spectrum")):
            panel.tabs.setCurrentIndex(i)
            grab_when(app, panel, lambda: True, out / f"fope_{name}_{theme}.png")
    ctx.runner.shutdown(timeout=60)
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
