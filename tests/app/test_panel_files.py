"""The one rule for panel files: a panel is one module ``app/panels/<name>.py``; its private
views are ``app/panels/_<name>_<what>.py``. No sub-packages, no orphan private modules."""
from __future__ import annotations

from pathlib import Path

PANELS = Path(__file__).resolve().parents[2] / "app" / "panels"


def test_no_panel_packages() -> None:
    packages = [p.name for p in PANELS.iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert packages == [], f"panels must be single modules, found packages: {packages}"


def test_private_views_belong_to_a_panel() -> None:
    panels = {p.stem for p in PANELS.glob("*.py") if not p.stem.startswith("_")}
    for view in PANELS.glob("_*.py"):
        if view.stem == "__init__":
            continue
        owner = view.stem[1:].split("_")[0]
        assert owner in panels, f"{view.name}: private view of no panel (expected app/panels/{owner}.py)"
