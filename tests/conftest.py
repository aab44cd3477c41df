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
