"""Shared fixtures. Qt tests run offscreen; every test gets its own workspace folder."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def workspace(tmp_path):
    """A fresh Workspace in a temporary folder."""
    from backend.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory):
    """The tiny arithmetic zoo (models + data), built once per test session; returns its root.

    ``$BENCHTOP_ZOO_CACHE`` names a folder that keeps it between sessions (rebuilt only when
    missing, damaged or from other settings); otherwise it goes under pytest's basetemp.
    Models: ``root / "arith-base"`` etc.; data: ``root / "data" / "*.jsonl"``; figures:
    ``json.loads((root / "manifest.json").read_text())["figures"]``.
    """
    from backend.models.zoo import build_zoo

    cache = os.environ.get("BENCHTOP_ZOO_CACHE")
    base = Path(cache).expanduser() if cache else tmp_path_factory.getbasetemp() / "zoo-cache"
    root = base / "tiny"
    build_zoo(root, "tiny", seed=0)
    return root
