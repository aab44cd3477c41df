"""The packaged app runs with no Python, venv or source tree in reach (slow: builds the bundle).

    .venv/bin/python -m pytest -m slow tests/e2e/test_package.py

Uses ``dist/benchtop/`` when it exists and is newer than every source file; otherwise runs
``make package`` first (several minutes on two cores).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "benchtop" / "benchtop"

pytestmark = pytest.mark.slow


def _stale() -> bool:
    if not BUNDLE.is_file():
        return True
    built = BUNDLE.stat().st_mtime
    sources = [p for d in ("app", "backend") for p in (ROOT / d).rglob("*.py")] + [ROOT / "main.py"]
    return any(p.stat().st_mtime > built for p in sources)


@pytest.fixture(scope="module")
def bundle() -> Path:
    if not sys.platform.startswith("linux"):
        pytest.skip("the bundle recipe is tested on Linux")
    if _stale():
        subprocess.run(["make", "package"], cwd=ROOT, check=True, timeout=3600)
    return BUNDLE


def _run(bundle: Path, cwd: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    # env -i: no PATH to a python, no PYTHONPATH, no venv; another working folder: no source tree
    env = {"HOME": str(cwd), "QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8"}
    return subprocess.run(["env", "-i", *[f"{k}={v}" for k, v in env.items()], str(bundle), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def test_bundle_self_test_and_tiny_zoo(bundle, tmp_path):
    ws = tmp_path / "W"
    proc = _run(bundle, tmp_path, "--workspace", str(ws), "--self-test")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "self-test passed" in proc.stdout and "sandbox" in proc.stdout
    proc = _run(bundle, tmp_path, "--workspace", str(ws), "zoo", "build", "--profile", "tiny")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (ws / "zoo" / "tiny").is_dir()
    proc = _run(bundle, tmp_path, "--help")
    assert proc.returncode == 0 and "equations" in proc.stdout


def test_bundle_is_self_contained(bundle):
    top = bundle.parent
    assert (top / "benchtop.desktop").is_file() and (top / "benchtop.png").is_file()
    internal = top / "_internal"
    assert (internal / "resources" / "sample_runs").is_dir() and (internal / "docs").is_dir()
    assert not any(p.name.startswith("libQt6Quick") for p in internal.rglob("libQt6Quick*"))
    assert not (internal / "tests").exists()
    assert os.access(top / "install-desktop-entry.sh", os.X_OK)
