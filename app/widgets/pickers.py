"""Pickers for models (zoo names or folders) and for files/folders."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)


def zoo_model_names(zoo_root: Path) -> list[str]:
    """``zoo:<name>`` for every model folder (one with config.json) in a built zoo."""
    if not zoo_root.exists():
        return []
    names = set()
    for cfg in zoo_root.glob("**/config.json"):
        rel = cfg.parent.relative_to(zoo_root)
        if any(part.startswith(".") for part in rel.parts):
            continue  # half-written build folders
        names.add(cfg.parent.name)
    return [f"zoo:{n}" for n in sorted(names)]


class ModelPicker(QWidget):
    """An editable combo of zoo model names, plus Browse… for a model folder on disk."""

    changed = Signal(str)

    def __init__(self, zoo_root: Path | None = None, default: str = "", name_filter: str = "",
                 parent: QWidget | None = None, extras: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self._extras = tuple(extras)  # offered after the zoo's names (e.g. a built-in scorer)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.setMinimumContentsLength(18)
        self.combo.lineEdit().setPlaceholderText("zoo:name or a model folder")
        self._filter = name_filter
        self._zoo_root = zoo_root
        self.reload()
        if default:
            self.combo.setCurrentText(default)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(browse)
        self.combo.currentTextChanged.connect(self.changed)
        self.combo.currentTextChanged.connect(self._check)
        self._check(self.combo.currentText())

    def problem(self) -> str:
        """Why the current text is not a model (empty when it looks like one, or cannot be checked)."""
        text = self.value()
        if not text or text.startswith(("zoo:", "reference:")) or text in self._extras:
            return ""
        path = Path(text).expanduser()
        if not path.exists():
            return f"{path}: no such folder"
        if not path.is_dir():
            return f"{path} is a file, not a model folder"
        if not (path / "config.json").is_file():
            return (f"{path} is not a model folder: it has no config.json (a Hugging Face model folder holds "
                    "config.json and *.safetensors)")
        return ""

    def _check(self, _text: str = "") -> None:
        msg = self.problem()
        self.combo.setToolTip(msg or "a zoo model (zoo:NAME) or a Hugging Face model folder")
        self.combo.setStyleSheet("QComboBox { border: 1px solid #d04040; }" if msg else "")

    def reload(self) -> None:
        current = self.combo.currentText()
        self.combo.clear()
        if self._zoo_root is not None:
            names = [n for n in zoo_model_names(self._zoo_root) if self._filter in n]
            self.combo.addItems(names)
        self.combo.addItems(list(self._extras))
        if current:
            self.combo.setCurrentText(current)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a Hugging Face model folder")
        if folder:
            self.combo.setCurrentText(folder)

    def value(self) -> str:
        return self.combo.currentText().strip()

    def set_value(self, text: str) -> None:
        self.combo.setCurrentText(text)
        self._check()  # the folder may have changed even when its path did not


class PathPicker(QWidget):
    """A line edit with Browse… for a file (``mode='file'``/``'save'``) or folder (``'dir'``)."""

    changed = Signal(str)

    def __init__(self, mode: str = "file", file_filter: str = "All files (*)", placeholder: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode, self.file_filter = mode, file_filter
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.textChanged.connect(self.changed)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)

    def _browse(self) -> None:
        if self.mode == "dir":
            path = QFileDialog.getExistingDirectory(self, "Choose a folder")
        elif self.mode == "save":
            path, _ = QFileDialog.getSaveFileName(self, "Save as", filter=self.file_filter)
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Open", filter=self.file_filter)
        if path:
            self.edit.setText(path)

    def value(self) -> str:
        return self.edit.text().strip()

    def set_value(self, text: str) -> None:
        self.edit.setText(text)
