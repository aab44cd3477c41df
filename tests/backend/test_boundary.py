"""The backend must never import Qt: checked on the source (AST) and in a fresh interpreter."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "qasync", "app")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_backend_sources_do_not_import_qt():
    offenders = []
    for path in sorted((ROOT / "backend").rglob("*.py")):
        bad = imported_modules(path) & set(FORBIDDEN)
        if bad:
            offenders.append(f"{path.relative_to(ROOT)}: {sorted(bad)}")
    assert not offenders, "backend imports Qt/app:\n" + "\n".join(offenders)


def test_cli_import_loads_no_qt_and_no_torch():
    code = (
        "import sys; sys.path.insert(0, %r); import backend.cli, backend.jobs, backend.workspace; "
        "backend.cli.build_parser(); "
        "bad=[m for m in sys.modules if m.split('.')[0] in ('PySide6','pyqtgraph','qasync','torch')]; "
        "print(','.join(sorted(set(m.split('.')[0] for m in bad))))" % str(ROOT)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"building the CLI imported: {out}"


def test_gui_start_path_imports_no_torch():
    """Start-up must not import torch or transformers: the window shows before they load."""
    code = (
        "import os, sys; os.environ['QT_QPA_PLATFORM']='offscreen'; sys.path.insert(0, %r);"
        "from app.application import make_app; app = make_app();"
        "from app.panels.base import discover_panels, broken_panels; discover_panels();"
        "import app.main_window;"
        "print('HEAVY:' + ','.join(sorted(m for m in ('torch', 'transformers') if m in sys.modules)))" % str(ROOT)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    heavy = [line for line in out.splitlines() if line.startswith("HEAVY:")]
    assert heavy == ["HEAVY:"], f"start-up imported: {heavy}"
