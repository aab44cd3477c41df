"""The lint gate of ``make test``: ``ruff check .`` over the tree and ``mypy backend`` (settings in
pyproject.toml). Run as subprocesses so a finding fails the suite with the linter's own report."""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# TEMPORARY: files other branches were rewriting during the lint pass of issue #18; they still
# have findings here. The coordinator empties this tuple once those branches land and the tree
# is clean (`ruff check .` and `mypy backend` with nothing excluded); then it stays empty.
LINT_PENDING: tuple[str, ...] = (
    "backend/generation/",
    "backend/merging/evaluation.py",
    "backend/merging/cli.py",
    "app/panels/merging.py",
)


def _run(tool: str, args: list[str]) -> subprocess.CompletedProcess:
    if importlib.util.find_spec(tool) is None:
        pytest.fail(f"{tool} is not installed: it is in the test extra (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_ruff_clean() -> None:
    excluded = [a for p in LINT_PENDING for a in ("--extend-exclude", p)]
    r = _run("ruff", ["check", ".", "--no-cache", "--output-format", "concise", *excluded])
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_backend_clean() -> None:
    # an excluded module imported by a checked one is still read (follow_imports = "silent"), its errors unreported
    excluded = [a for p in LINT_PENDING if p.startswith("backend/")
                for a in ("--exclude", "^" + re.escape(p) + ("" if p.endswith("/") else "$"))]
    r = _run("mypy", ["backend", *excluded])
    assert r.returncode == 0, r.stdout + r.stderr
