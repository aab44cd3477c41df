"""Errors become dialogs with details, never crashes."""
from __future__ import annotations

import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

_last_errors: list[tuple[str, str]] = []


def report_exception(summary: str, details: str, parent: QWidget | None = None) -> None:
    """Show an error dialog (non-blocking) with the traceback under "Show Details"."""
    _last_errors.append((summary, details))
    print(f"{summary}\n{details}", file=sys.stderr)
    app = QApplication.instance()
    if app is None or app.property("benchtop_no_dialogs"):
        return
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle("Benchtop — error")
    box.setText(summary)
    box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.setModal(False)
    box.show()


def recorded_errors() -> list[tuple[str, str]]:
    return list(_last_errors)


class _Relay(QObject):
    """Moves exceptions raised in other threads to the GUI thread before showing them."""

    raised = Signal(str, str)


_relay: _Relay | None = None


def install_exception_hooks() -> None:
    """Route uncaught exceptions (GUI thread and other threads) to :func:`report_exception`."""
    global _relay
    _relay = _Relay()
    _relay.raised.connect(lambda s, d: report_exception(s, d))

    def hook(exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QTimer.singleShot(0, QApplication.quit)
            return
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        _relay.raised.emit(f"Unexpected error: {exc_type.__name__}: {exc}", details)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        hook(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = hook
    threading.excepthook = thread_hook
