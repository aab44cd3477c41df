"""Run history: every run in the workspace; double-click opens it in its panel."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("Started", "Kind", "Label", "Status", "Duration", "Run id")


class HistoryView(QWidget):
    """Opening a run shows it in its panel with the panel's form set to that run's settings;
    "Re-run" runs those settings again."""

    open_run = Signal(str)
    rerun_run = Signal(str)

    def __init__(self, workspace, runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by kind, label or status…")
        self.filter.textChanged.connect(self.refresh)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        openb = QPushButton("Open")
        openb.setToolTip("show the run in its panel, with the panel's settings set to the run's")
        openb.clicked.connect(self._open_selected)
        self.rerun_button = QPushButton("Re-run with these settings")
        self.rerun_button.clicked.connect(self._rerun_selected)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(openb)
        top.addWidget(self.rerun_button)
        top.addWidget(refresh)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.cellDoubleClicked.connect(lambda r, _c: self._open_row(r))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(250)
        self._pending.timeout.connect(self.refresh)
        runner.event.connect(self._on_event)
        self.refresh()

    def _on_event(self, event) -> None:
        if event.type in ("queued", "started", "finished"):
            self._pending.start()

    def stop(self) -> None:
        """Stop refreshing (the window is closing and the workspace will be closed)."""
        self._pending.stop()
        self._stopped = True

    def refresh(self) -> None:
        if getattr(self, "_stopped", False):
            return
        needle = self.filter.text().strip().lower()
        runs = self.workspace.list_runs(limit=500)
        if needle:
            runs = [r for r in runs if needle in f"{r.kind} {r.label} {r.status}".lower()]
        self.table.setRowCount(len(runs))
        for i, r in enumerate(runs):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started or r.created))
            dur = f"{r.duration:.1f} s" if r.duration is not None else "-"
            for j, text in enumerate((when, r.kind, r.label, r.status, dur, r.id)):
                item = QTableWidgetItem(text)
                if j == 0:
                    item.setData(Qt.ItemDataRole.UserRole, r.id)
                if j == 3 and r.error:
                    item.setToolTip(r.error)
                self.table.setItem(i, j, item)

    def run_ids(self) -> list[str]:
        return [self.table.item(i, 0).data(Qt.ItemDataRole.UserRole) for i in range(self.table.rowCount())]

    def _open_row(self, row: int) -> None:
        rid = self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)
        self.open_run.emit(rid)

    def selected_run(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole) if rows else None

    def _open_selected(self) -> None:
        rid = self.selected_run()
        if rid:
            self.open_run.emit(rid)

    def _rerun_selected(self) -> None:
        rid = self.selected_run()
        if rid:
            self.rerun_run.emit(rid)

    def _context_menu(self, pos) -> None:
        row = self.table.rowAt(pos.y())
        if row < 0:
            return
        self.table.selectRow(row)
        rid = self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        menu.addAction("Open", lambda: self.open_run.emit(rid))
        menu.addAction("Re-run with these settings", lambda: self.rerun_run.emit(rid))
        menu.addAction("Copy run id", lambda: QGuiApplication.clipboard().setText(rid))
        menu.exec(self.table.viewport().mapToGlobal(pos))
