"""Two tiny real Qt programs for the scripted agent that makes the sample agent runs:
a calculator and a note editor. Their state is read back through ``state()`` to score tasks.

The calculator evaluates left to right like a pocket calculator (no parser, no eval).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

NOTE_TEXT = "\n".join([
    "Lab notebook, week 12.", "Calibrated the spectrometer again.", "Sample A reads 0.42 absorbance.",
    "Sample B reads 0.57 absorbance.", "Control drifted by two percent.", "Ordered new cuvettes.",
    "Meeting with the imaging group.", "They need the raw files by Friday.", "Backup finished overnight.",
    "Disk on node three is almost full.", "Next: repeat run with fresh buffer.", "remember to label the tubes",
])


class MiniCalc(QWidget):
    """Digits, + − × ÷, = and C; a read-only display."""

    KEYS = [["7", "8", "9", "÷"], ["4", "5", "6", "×"], ["1", "2", "3", "−"], ["C", "0", "=", "+"]]

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("MiniCalc")
        self.setAccessibleName("MiniCalc")
        self.display = QLineEdit("0")
        self.display.setReadOnly(True)
        self.display.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.display.setAccessibleName("display")
        self.display.setStyleSheet("font-size: 20px; padding: 4px;")
        grid = QGridLayout()
        grid.setSpacing(4)
        self.buttons: dict[str, QPushButton] = {}
        for r, row in enumerate(self.KEYS):
            for c, key in enumerate(row):
                b = QPushButton(key)
                b.setMinimumSize(44, 36)
                b.setAccessibleName(key)
                b.clicked.connect(lambda _=False, k=key: self.press(k))
                grid.addWidget(b, r, c)
                self.buttons[key] = b
        lay = QVBoxLayout(self)
        lay.addWidget(self.display)
        lay.addLayout(grid)
        self._acc: float | None = None
        self._op: str | None = None
        self._fresh = True
        self.resize(232, 236)

    def press(self, key: str) -> None:
        text = self.display.text()
        if key.isdigit():
            self.display.setText(key if self._fresh or text == "0" else text + key)
            self._fresh = False
        elif key == "C":
            self.display.setText("0")
            self._acc, self._op, self._fresh = None, None, True
        else:
            self._apply(float(text))
            self._op = None if key == "=" else key
            self._fresh = True

    def _apply(self, value: float) -> None:
        if self._acc is None or self._op is None:
            self._acc = value
        else:
            a, op = self._acc, self._op
            if op == "÷" and value == 0:
                self.display.setText("Error")
                self._acc = None
                return
            self._acc = {"+": a + value, "−": a - value, "×": a * value, "÷": a / value if value else 0.0}[op]
        self.display.setText(f"{self._acc:.10g}")

    def state(self) -> dict:
        return {"display": self.display.text()}


class MiniNotes(QWidget):
    """A title, a text body, an UPPERCASE button (selection, or all), a word count and Save."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("MiniNotes")
        self.setAccessibleName("MiniNotes")
        self.title = QLineEdit("untitled")
        self.title.setAccessibleName("title")
        self.body = QPlainTextEdit(NOTE_TEXT)
        self.body.setAccessibleName("body")
        self.upper = QPushButton("UPPERCASE")
        self.save = QPushButton("Save")
        self.words = QLabel()
        self.words.setAccessibleName("word count")
        row = QHBoxLayout()
        row.addWidget(self.upper)
        row.addWidget(self.save)
        row.addWidget(self.words, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.body, 1)
        lay.addLayout(row)
        self.upper.clicked.connect(self._upper)
        self.save.clicked.connect(self._save)
        self.body.textChanged.connect(self._count)
        self.saved: dict | None = None
        self._count()
        self.resize(300, 250)

    def _upper(self) -> None:
        cur = self.body.textCursor()
        if cur.hasSelection():
            cur.insertText(cur.selectedText().upper())
        else:
            self.body.setPlainText(self.body.toPlainText().upper())

    def _save(self) -> None:
        self.saved = {"title": self.title.text(), "body": self.body.toPlainText()}

    def _count(self) -> None:
        self.words.setText(f"words: {len(self.body.toPlainText().split())}")

    def state(self) -> dict:
        return {"title": self.title.text(), "body": self.body.toPlainText(), "saved": self.saved,
                "words": len(self.body.toPlainText().split())}
