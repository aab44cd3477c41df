"""Read-only tables filled from rows of dicts, with numbers formatted and sortable.

Every table sizes its columns to their contents (a horizontal scroll bar rather than cut text;
long cells keep their full text in a tooltip), copies the selection with Ctrl+C as
tab-separated text (pastes into a spreadsheet), and exports all its rows as CSV or JSON from its
"Export…" button or context menu, with full-precision numbers.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHeaderView,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QWidget,
)

TABLE_FILTERS = "CSV table (*.csv);;JSON rows (*.json)"


def _significant(value: float, digits: int) -> float:
    if value == 0 or value != value or value in (float("inf"), float("-inf")):
        return value
    return float(f"{value:.{digits}g}")


def format_value(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:
            return "NaN"
        return f"{value:.{digits}g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


class DictTable(QTableWidget):
    """``set_rows([{col: value}, ...], columns=[...])`` — the columns default to the first row's keys."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.verticalHeader().setVisible(False)
        self.setAlternatingRowColors(True)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setHorizontalScrollMode(QTableWidget.ScrollMode.ScrollPerPixel)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        self.export_button = QToolButton(self)
        self.export_button.setText("Export…")
        self.export_button.setToolTip("Export table as CSV or JSON (Ctrl+C copies the selection)")
        self.export_button.setAutoRaise(True)
        self.export_button.setStyleSheet("QToolButton { font-size: 8pt; padding: 0px 3px; color: palette(mid); }"
                                         "QToolButton:hover { color: palette(text); }")
        self.export_button.clicked.connect(self.ask_export)
        self.export_button.setVisible(False)  # shown while the mouse is over a filled table
        self.export_name = "table"
        self._rows: list[dict[str, Any]] = []
        self._columns: list[str] = []
        self._headers: list[str] = []

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        b = self.export_button
        b.adjustSize()
        b.move(self.width() - b.width() - 2, max(0, (self.horizontalHeader().height() - b.height()) // 2))
        b.raise_()

    def set_rows(self, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None,
                 headers: Sequence[str] | None = None, digits: int = 4) -> None:
        self.setSortingEnabled(False)
        columns = list(columns or (rows[0].keys() if rows else []))
        self._rows, self._columns = [dict(r) for r in rows], columns
        self._headers = list(headers or columns)
        self.setColumnCount(len(columns))
        self.setHorizontalHeaderLabels(list(headers or columns))
        self.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, col in enumerate(columns):
                value = row.get(col)
                item = QTableWidgetItem()
                if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
                    # numbers are stored as numbers (rounded for display) so sorting is numeric
                    shown = value if isinstance(value, int) else _significant(value, digits)
                    item.setData(Qt.ItemDataRole.DisplayRole, shown)
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                else:
                    item.setText(format_value(value, digits))
                    if len(item.text()) > 60:
                        item.setToolTip(item.text()[:2000])
                self.setItem(i, j, item)
        self.setSortingEnabled(True)
        self.export_button.setVisible(bool(columns) and self.underMouse())

    def enterEvent(self, event) -> None:
        super().enterEvent(event)
        self.export_button.setVisible(bool(self._columns))

    def leaveEvent(self, event) -> None:
        super().leaveEvent(event)
        self.export_button.setVisible(False)

    def cell_text(self, row: int, col: int) -> str:
        item = self.item(row, col)
        return item.text() if item else ""

    # -- copy and export ------------------------------------------------------------------------
    def selection_tsv(self) -> str:
        """The selected cells as tab-separated text; several cells get the column headers first."""
        ranges = self.selectedRanges()
        if not ranges:
            return ""
        rows = sorted({r for rg in ranges for r in range(rg.topRow(), rg.bottomRow() + 1)})
        cols = sorted({c for rg in ranges for c in range(rg.leftColumn(), rg.rightColumn() + 1)})
        lines = [] if len(rows) * len(cols) == 1 else [
            "\t".join(self.horizontalHeaderItem(c).text() if self.horizontalHeaderItem(c) else "" for c in cols)]
        for r in rows:
            lines.append("\t".join(self.cell_text(r, c) if self.item(r, c) and self.item(r, c).isSelected() else ""
                                   for c in cols))
        return "\n".join(lines)

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            QGuiApplication.clipboard().setText(self.selection_tsv())
            event.accept()
            return
        super().keyPressEvent(event)

    def export(self, path: str | Path) -> Path:
        """Write every row (full precision, as given to ``set_rows``) as .csv or .json."""
        path = Path(path)
        from backend.workspace.atomic import atomic_write_text

        if path.suffix.lower() == ".json":
            text = json.dumps([{h: r.get(c) for c, h in zip(self._columns, self._headers)} for r in self._rows],
                              indent=1, default=str)
        elif path.suffix.lower() == ".csv":
            import io

            buf = io.StringIO()
            writer = csv.writer(buf)
            writer.writerow(self._headers)
            for r in self._rows:
                writer.writerow(["" if r.get(c) is None else r.get(c) for c in self._columns])
            text = buf.getvalue()
        else:
            raise ValueError(f"{path.name}: choose a .csv or .json file name")
        atomic_write_text(path, text)
        return path

    def ask_export(self) -> Path | None:
        path, chosen = QFileDialog.getSaveFileName(self, "Export table", f"{self.export_name}.csv", TABLE_FILTERS)
        if not path:
            return None
        if not Path(path).suffix:
            path += ".json" if chosen.startswith("JSON") else ".csv"
        return self.export(path)

    def _context_menu(self, pos) -> None:
        menu = QMenu(self)
        menu.addAction("Copy (Ctrl+C)", lambda: QGuiApplication.clipboard().setText(self.selection_tsv()))
        menu.addAction("Export table…", self.ask_export)
        menu.exec(self.viewport().mapToGlobal(pos))
