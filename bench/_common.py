"""Pieces every zoo bench shares. ``python bench/<name>.py`` puts this folder on ``sys.path``,
so the benches import it as ``_common``."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def demo_zoo(arg: str | None) -> Path:
    """The zoo folder: ``--zoo`` when given, else the workspace's demo zoo (or ``$BENCHTOP_ZOO``),
    checked to be built (FileNotFoundError naming it otherwise)."""
    from backend.models.zoo import resolve_model

    return Path(arg) if arg else Path(resolve_model("zoo:arith-base")).parent


def run(main: Callable[[], int], timed: bool = False) -> None:
    """Exit with ``main()``'s status; a missing zoo or data file is one ``error:`` line, not a
    traceback. ``timed`` prints the wall time at the end."""
    t0 = time.perf_counter()
    try:
        rc = main()
    except FileNotFoundError as e:
        sys.exit(f"error: {e}")
    if timed:
        print(f"\n({time.perf_counter() - t0:.0f} s)")
    sys.exit(rc)


def grab_when(app, widget, ready: Callable[[], bool], png: Path, timeout: float = 600) -> None:
    """Run the Qt event loop until ``ready()`` (or ``timeout`` seconds), let the last paints land,
    and save ``widget`` to ``png``: how the benches make the docs' screenshots."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not ready():
        app.processEvents()
        time.sleep(0.05)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.05)
    png.parent.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(png))
