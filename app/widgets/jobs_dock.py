"""The jobs dock: one row per job with its key settings, status, progress, elapsed time and ETA,
cancel and error details; "Clear finished" drops the rows of jobs that ended."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.runner_bridge import QtRunner
from app.widgets.run_controls import estimate_eta, format_duration

COLUMNS = ("Job", "Status", "Progress", "Time", "Message", "")
TIME_COL, MESSAGE_COL, BUTTONS_COL = 3, 4, 5
ENDED = ("done", "failed", "cancelled", "interrupted")
STATUS_TEXT = {"queued": "queued", "running": "running", "succeeded": "done", "failed": "failed",
               "cancelled": "cancelled", "interrupted": "interrupted"}


class JobsView(QWidget):
    """Lists jobs of this session. Progress repaints are coalesced to 10 Hz."""

    open_run = Signal(str)

    def __init__(self, runner: QtRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        hh.setSectionResizeMode(TIME_COL, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(MESSAGE_COL, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(BUTTONS_COL, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnWidth(2, 160)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.setToolTip("remove the rows of jobs that ended (they stay in the Run history)")
        self.clear_button.clicked.connect(self.clear_finished)
        top = QHBoxLayout()
        top.addWidget(QLabel("Double-click a job to open it in its panel."), 1)
        top.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self._started: dict[str, float] = {}
        self._ended: dict[str, float] = {}
        self._rows: dict[str, int] = {}
        self._dirty: set[str] = set()
        self._errors: dict[str, tuple[str, str]] = {}
        runner.event.connect(self._on_event)
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._flush)
        self._timer.start()

    def row_of(self, run_id: str) -> int | None:
        return self._rows.get(run_id)

    def status_of(self, run_id: str) -> str | None:
        row = self._rows.get(run_id)
        return None if row is None else self.table.item(row, 1).text()

    def _add_row(self, run_id: str, label: str) -> int:
        row = 0
        self.table.insertRow(row)
        self._rows = {rid: r + 1 for rid, r in self._rows.items()}
        self._rows[run_id] = row
        handle = self.runner.handle(run_id)
        params = handle.spec.params if handle is not None else {}
        key = key_params(params)
        item = QTableWidgetItem(f"{label} · {key}" if key else label)
        item.setData(Qt.ItemDataRole.UserRole, run_id)
        item.setToolTip(f"{run_id}\n" + "\n".join(f"{k} = {v}" for k, v in params.items()))
        self.table.setItem(row, 0, item)
        self.table.setItem(row, 1, QTableWidgetItem("queued"))
        bar = QProgressBar()
        bar.setRange(0, 1000)
        bar.setTextVisible(True)
        bar.setFormat("%p%")
        self.table.setCellWidget(row, 2, bar)
        self.table.setItem(row, TIME_COL, QTableWidgetItem(""))
        self.table.setItem(row, MESSAGE_COL, QTableWidgetItem(""))
        buttons = QWidget()
        hl = QHBoxLayout(buttons)
        hl.setContentsMargins(2, 0, 2, 0)
        cancel = QPushButton("Cancel")
        cancel.setObjectName(f"cancel-{run_id}")
        cancel.clicked.connect(lambda: self.runner.cancel(run_id))
        details = QPushButton("Details")
        details.setObjectName(f"details-{run_id}")
        details.clicked.connect(lambda: self.show_details(run_id))
        hl.addWidget(cancel)
        hl.addWidget(details)
        self.table.setCellWidget(row, BUTTONS_COL, buttons)
        return row

    def _on_event(self, event) -> None:
        rid = event.run_id
        if event.type == "queued":
            label = event.data.get("label") or event.data.get("kind", "job")
            self._add_row(rid, label)
            return
        row = self._rows.get(rid)
        if row is None:
            return
        if event.type == "started":
            self._started[rid] = time.monotonic()
        if event.type in ("progress", "started"):
            self._dirty.add(rid)
        elif event.type == "error":
            self._errors[rid] = (event.data.get("message") or "error", event.data.get("traceback") or "")
            self.table.item(row, MESSAGE_COL).setText(event.data.get("message") or "")
        elif event.type == "finished":
            status = event.data.get("status", "")
            self.table.item(row, 1).setText(STATUS_TEXT.get(status, status))
            bar = self.table.cellWidget(row, 2)
            if status == "succeeded":
                bar.setRange(0, 1000)
                bar.setValue(1000)
            self._ended[rid] = time.monotonic()
            self.table.item(row, TIME_COL).setText(self._time_text(rid, None))
            buttons = self.table.cellWidget(row, BUTTONS_COL)
            cancel = buttons.findChild(QPushButton, f"cancel-{rid}")
            if cancel is not None:
                cancel.setEnabled(False)

    def _flush(self) -> None:
        for rid in list(self._dirty):
            handle = self.runner.handle(rid)
            row = self._rows.get(rid)
            if handle is None or row is None:
                continue
            if not handle.done:
                self.table.item(row, 1).setText(STATUS_TEXT.get(handle.status, handle.status))
            bar = self.table.cellWidget(row, 2)
            if handle.progress is None:
                bar.setRange(0, 0)  # busy indicator
            else:
                bar.setRange(0, 1000)
                bar.setValue(int(1000 * handle.progress))
            if handle.message and rid not in self._errors:
                self.table.item(row, MESSAGE_COL).setText(handle.message)
        self._dirty.clear()
        for rid, row in self._rows.items():  # the clock moves between progress events too
            if rid in self._started and rid not in self._ended:
                handle = self.runner.handle(rid)
                self.table.item(row, TIME_COL).setText(self._time_text(rid, handle.progress if handle else None))

    def _time_text(self, run_id: str, fraction: float | None) -> str:
        start = self._started.get(run_id)
        if start is None:
            return ""
        elapsed = self._ended.get(run_id, time.monotonic()) - start
        if run_id in self._ended:
            return format_duration(elapsed)
        eta = estimate_eta(elapsed, fraction)
        return format_duration(elapsed) + (f" · {format_duration(eta)} left" if eta is not None else "")

    def clear_finished(self) -> int:
        """Drop the rows of jobs that ended; returns how many."""
        gone = [rid for rid, row in self._rows.items() if self.table.item(row, 1).text() in ENDED]
        for rid in sorted(gone, key=lambda r: -self._rows[r]):
            self.table.removeRow(self._rows.pop(rid))
            for d in (self._started, self._ended, self._errors):
                d.pop(rid, None)
        self._rows = {self.table.item(r, 0).data(Qt.ItemDataRole.UserRole): r for r in range(self.table.rowCount())}
        return len(gone)

    def _double_clicked(self, row: int, _col: int) -> None:
        rid = self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)
        if rid:
            self.open_run.emit(rid)

    def show_details(self, run_id: str) -> QMessageBox:
        handle = self.runner.handle(run_id)
        box = QMessageBox(self)
        box.setWindowTitle(f"Job {run_id}")
        if run_id in self._errors:
            msg, tb = self._errors[run_id]
            box.setIcon(QMessageBox.Icon.Critical)
            box.setText(f"The job failed:\n{msg}")
            box.setDetailedText(tb)
        else:
            status = handle.status if handle else "unknown"
            box.setText(f"Status: {status}\nFolder: {handle.run_dir if handle else '-'}")
        box.setModal(False)
        box.show()
        return box

    def error_of(self, run_id: str) -> tuple[str, str] | None:
        return self._errors.get(run_id)


def key_params(params: dict, limit: int = 4) -> str:
    """The first few short settings of a job (``lr=5e-05, steps=3``), for its row's label."""
    parts = []
    for k, v in params.items():
        if isinstance(v, float):
            text = f"{v:.3g}"
        elif isinstance(v, (int, bool)) or (isinstance(v, str) and len(v) <= 24):
            text = str(v)
        elif isinstance(v, (list, tuple)) and 0 < len(v) <= 6 and all(isinstance(x, (int, float, str)) for x in v):
            text = ",".join(str(x) for x in v)
        else:
            continue
        parts.append(f"{k}={text}")
        if len(parts) == limit:
            break
    return ", ".join(parts)


def elapsed(start: float) -> str:
    s = int(time.time() - start)
    return f"{s // 60}:{s % 60:02d}"
