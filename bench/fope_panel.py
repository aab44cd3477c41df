"""Screenshots of the Position embeddings panel as docs/fope.md shows them (light and dark, 1280x720).

    python bench/fope_panel.py [--out docs/screenshots] [--steps 300] [--seeds 0,1]

Runs the panel's own jobs (all four variants × the seeds, tiny settings so it takes a few minutes on
CPU) on the built-in pydoc text, grabs each tab in the light theme, then opens the same runs in a
fresh panel in the dark theme and grabs again.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from _common import grab_when  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="docs/screenshots")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seeds", default="0,1")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.application import create_context, make_app
    from app.panels.positions import PositionsPanel
    from app.theme import apply_theme

    app = make_app()
    app.setProperty("benchtop_no_dialogs", True)
    apply_theme(app, "light")
    ctx = create_context(tempfile.mkdtemp(prefix="fope-shot-"), settings_file=os.path.join(tempfile.mkdtemp(), "s.ini"))
    ctx.set_device_getter(lambda: "cpu")
    out = Path(args.out)
    panel = PositionsPanel(ctx)
    panel.resize(1280, 720)
    panel.show()
    for cb in panel.variant_boxes.values():
        cb.setChecked(True)
    panel.seeds.setText(args.seeds)
    panel.form.set_values({"steps": args.steps, "d_model": 64, "heads": 2, "batch": 16})
    ids = panel.start()
    grab_when(app, panel, lambda: not panel.controls.busy and len(panel.results) == len(ids),
              out / "fope_loss_light.png", timeout=3600)
    for i, name in ((1, "length"), (2, "spectrum")):
        panel.tabs.setCurrentIndex(i)
        grab_when(app, panel, lambda: True, out / f"fope_{name}_light.png")
    apply_theme(app, "dark")
    dark = PositionsPanel(ctx)
    dark.resize(1280, 720)
    dark.show()
    for rid in ids:
        dark.show_run(ctx.workspace.get_run(rid))
    for i, name in ((0, "loss"), (1, "length"), (2, "spectrum")):
        dark.tabs.setCurrentIndex(i)
        grab_when(app, dark, lambda: True, out / f"fope_{name}_dark.png")
    ctx.runner.shutdown(timeout=60)
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
