"""Read-only tables filled from rows of dicts, with numbers formatted and sortable."""
from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem, QWidget


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

    def set_rows(self, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None,
                 headers: Sequence[str] | None = None, digits: int = 4) -> None:
        self.setSortingEnabled(False)
        columns = list(columns or (rows[0].keys() if rows else []))
        self.setColumnCount(len(columns))
        self.setHorizontalHeaderLabels(list(headers or columns))
        self.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, col in enumerate(columns):
                value = row.get(col)
                item = QTableWidgetItem()
                if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
                    # numbers are stored as numbers (rounded for display) so sorting is numeric
                    item.setData(Qt.ItemDataRole.DisplayRole, value if isinstance(value, int) else _significant(value, digits))
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                else:
                    item.setText(format_value(value, digits))
                self.setItem(i, j, item)
        self.setSortingEnabled(True)

    def cell_text(self, row: int, col: int) -> str:
        item = self.item(row, col)
        return item.text() if item else ""
