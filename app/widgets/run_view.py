"""A generic view of a run (for kinds no panel claims): spec, status, result, metrics."""
from __future__ import annotations

import json

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from backend.workspace import RunRecord


def describe_run(run: RunRecord, metrics: dict) -> str:
    lines = [f"Run {run.id}", f"kind: {run.kind}", f"status: {run.status}", f"device: {run.device or '-'}",
             f"folder: {run.run_dir}", "", "params:", json.dumps(run.spec.params, indent=2, default=str)]
    if run.error:
        lines += ["", f"error: {run.error}", run.traceback or ""]
    if run.result is not None:
        lines += ["", "result:", json.dumps(run.result, indent=2, default=str)]
    for name, series in metrics.items():
        lines.append(f"metric {name}: {len(series)} points, last {series[-1][1]:.6g}")
    for name, path in run.artifacts.items():
        lines.append(f"artifact {name}: {path}")
    return "\n".join(lines)


class RunDialog(QDialog):
    def __init__(self, run: RunRecord, metrics: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Run {run.id}")
        self.resize(640, 480)
        text = QPlainTextEdit(describe_run(run, metrics))
        text.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)
