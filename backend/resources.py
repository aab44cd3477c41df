"""Where the files Benchtop ships with live, in a source checkout and in the packaged app.

In a checkout they sit beside the code (``resources/``, ``docs/``); in a PyInstaller bundle they
are unpacked next to the executable (``sys._MEIPASS``). Every lookup of shipped data goes through
here, so the two layouts cannot drift apart.
"""
from __future__ import annotations

import sys
from pathlib import Path


def is_frozen() -> bool:
    """True inside the packaged app (PyInstaller sets ``sys.frozen``)."""
    return bool(getattr(sys, "frozen", False))


def app_root() -> Path:
    """The folder that holds ``resources/`` and ``docs/``."""
    if is_frozen():
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    return Path(__file__).resolve().parents[1]


def resource_path(*parts: str) -> Path:
    """A file or folder under ``resources/`` (it may not exist; callers check)."""
    return app_root().joinpath("resources", *parts)


def docs_path(page: str) -> Path:
    """A page of the user documentation, e.g. ``docs_path("equations.md")``."""
    return app_root() / "docs" / page


def version() -> str:
    """Benchtop's version: the installed package's metadata, else ``pyproject.toml``'s."""
    from importlib import metadata

    try:
        return metadata.version("benchtop")
    except metadata.PackageNotFoundError:
        pass
    py = app_root() / "pyproject.toml"
    if py.is_file():
        for line in py.read_text(encoding="utf-8").splitlines():
            if line.startswith("version"):
                return line.split("=", 1)[1].strip().strip('"')
    return "unknown"
