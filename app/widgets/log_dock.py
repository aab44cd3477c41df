"""The log dock: job log lines and lifecycle messages, newest at the bottom."""
from __future__ import annotations

import time

from PySide6.QtGui import QFont, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from app.runner_bridge import QtRunner, format_event_line
from backend.jobs import JobEvent

MAX_BLOCKS = 5000


class LogView(QPlainTextEdit):
    def __init__(self, runner: QtRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_BLOCKS)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        font.setPointSizeF(max(8.0, font.pointSizeF() * 0.92))
        self.setFont(font)
        runner.event.connect(self._on_event)

    def _on_event(self, event: JobEvent) -> None:
        line = format_event_line(event)
        if line is not None:
            self.append_line(f"{event.run_id[-6:]}  {line}")

    def append_line(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.appendPlainText(f"{stamp}  {text}")
        self.moveCursor(QTextCursor.MoveOperation.End)
