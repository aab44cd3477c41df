"""Render the replay panel on the sample runs: ``python -m tools.replay_screenshots``.

Writes ``docs/screenshots/replay_step.png`` (a step with a click overlay and the a11y row under
the pointer) and ``replay_compare.png`` (the careful vs the noisy agent, step-aligned).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.application import create_context, make_app
    from app.panels.replay import ReplayPanel
    from app.panels.replay import SAMPLES

    app = make_app()
    tmp = Path(tempfile.mkdtemp())
    ctx = create_context(tmp / "ws", settings_file=tmp / "s.ini")
    p = ReplayPanel(ctx)
    p.resize(1400, 860)
    p.show()

    def settle() -> None:
        t = time.monotonic() + 0.4
        while time.monotonic() < t:
            app.processEvents()
            time.sleep(0.01)
        p.loader.wait()
        p.timeline.loader.wait()
        app.processEvents()

    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    p.open_folder(SAMPLES / "scienceboard" / "scripted_a11y-vm-screenshot+a11y_tree")
    p.show_task("Calc/B-01")
    p.set_step(0)
    p.side_a.tabs.setCurrentIndex(1)
    settle()
    p.grab().save(str(out / "replay_step.png"))
    p.open_folder(SAMPLES / "scienceboard" / "scripted_noisy-vm-screenshot+a11y_tree", compare=True)
    p.show_task("Calc/B-01")
    p.set_step(0)
    settle()
    p.grab().save(str(out / "replay_compare.png"))
    print(out / "replay_step.png", out / "replay_compare.png")
    ctx.runner.shutdown(timeout=5)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
