"""A form bound to a :class:`~backend.params.Params` class: one editor per setting.

The form holds no defaults or limits of its own; it reads them from the settings class, so a
setting added to a job appears here (and in the CLI) with no further edit. ``set_values`` puts a
run's recorded settings back, which is how a run opened from the history restores its form.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.widgets.fold import make_foldable
from backend.params import ParamInfo, Params

_INT_LIMIT = 2_000_000_000


def _tooltip(info: ParamInfo) -> str:
    rng = info.describe_range()
    text = info.help or info.title
    return f"{text}\n({rng})" if rng and info.choices is None else text


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


class _WheelGuard(QObject):
    """Wheel events reach a combo or spin box only when it has focus: scrolling a long form with
    the mouse over an editor must scroll the form, not change the setting under the cursor."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Wheel and isinstance(obj, QWidget) and not obj.hasFocus():
            event.ignore()
            return True
        return False


class ParamsForm(QWidget):
    """Editors for the settings of ``cls`` (all of them, or ``fields``), in a form layout."""

    changed = Signal()

    def __init__(self, cls: type[Params], fields: Iterable[str] | None = None, parent: QWidget | None = None,
                 exclude: Iterable[str] = ()) -> None:
        super().__init__(parent)
        self.cls = cls
        wanted = list(fields) if fields is not None else None
        skip = set(exclude)
        infos = [i for i in cls.describe() if i.gui and i.name not in skip]
        if wanted is not None:
            by_name = {i.name: i for i in infos}
            infos = [by_name[n] for n in wanted if n in by_name]
        self._infos = {i.name: i for i in infos}
        self._editors: dict[str, QWidget] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        main = QFormLayout()
        main.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        outer.addLayout(main)
        self.advanced_box: QGroupBox | None = None
        advanced = [i for i in infos if i.advanced]
        adv_layout: QFormLayout | None = None
        if advanced:
            self.advanced_box = QGroupBox("Advanced")
            self.advanced_box.setCheckable(True)
            self.advanced_box.setChecked(False)
            adv_layout = QFormLayout()
            holder = QWidget()
            holder.setLayout(adv_layout)
            box_layout = QVBoxLayout(self.advanced_box)
            box_layout.addWidget(holder)
            make_foldable(self.advanced_box, holder, box_layout)   # closed: its check box alone
            outer.addWidget(self.advanced_box)
        self._wheel_guard = _WheelGuard(self)
        for info in infos:
            editor = self._make_editor(info)
            if isinstance(editor, (QComboBox, QSpinBox, QDoubleSpinBox)):
                editor.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
                editor.installEventFilter(self._wheel_guard)
            editor.setToolTip(_tooltip(info))
            editor.setObjectName(f"param_{info.name}")
            self._editors[info.name] = editor
            (adv_layout if info.advanced and adv_layout is not None else main).addRow(info.title, editor)
        self.set_values({i.name: i.default for i in infos})

    # -- editors ------------------------------------------------------------------------------
    def _make_editor(self, info: ParamInfo) -> QWidget:
        if info.type is bool:
            box = QCheckBox()
            box.toggled.connect(lambda *_: self.changed.emit())
            return box
        if info.choices is not None and info.type is not tuple:
            combo = QComboBox()
            for choice in info.choices:
                combo.addItem(str(choice), choice)
            combo.currentIndexChanged.connect(lambda *_: self.changed.emit())
            return combo
        if info.type is int:
            spin = QSpinBox()
            lo = int(info.min) + (1 if info.min_exclusive else 0) if info.min is not None else -_INT_LIMIT
            spin.setRange(lo, int(info.max) if info.max is not None else _INT_LIMIT)
            if info.step:
                spin.setSingleStep(int(info.step))
            spin.valueChanged.connect(lambda *_: self.changed.emit())
            return spin
        if info.type is float and not info.log:
            dspin = QDoubleSpinBox()
            dspin.setDecimals(info.decimals if info.decimals is not None else 4)
            dspin.setRange(info.min if info.min is not None else -1e12, info.max if info.max is not None else 1e12)
            dspin.setSingleStep(info.step or 0.05)
            dspin.valueChanged.connect(lambda *_: self.changed.emit())
            return dspin
        if info.multiline:
            text = QPlainTextEdit()
            text.setMaximumHeight(72)
            text.textChanged.connect(self.changed.emit)
            return text
        line = QLineEdit()  # log-scale floats, text and comma-separated lists
        line.textChanged.connect(lambda *_: self.changed.emit())
        return line

    def editor(self, name: str) -> QWidget:
        return self._editors[name]

    def names(self) -> list[str]:
        return list(self._editors)

    # -- values -------------------------------------------------------------------------------
    def raw_values(self) -> dict[str, Any]:
        """Each editor's value as it stands (text for free-text editors)."""
        out: dict[str, Any] = {}
        for name, ed in self._editors.items():
            if isinstance(ed, QCheckBox):
                out[name] = ed.isChecked()
            elif isinstance(ed, QComboBox):
                out[name] = ed.currentData()
            elif isinstance(ed, (QSpinBox, QDoubleSpinBox)):
                out[name] = ed.value()
            elif isinstance(ed, QPlainTextEdit):
                out[name] = ed.toPlainText()
            elif isinstance(ed, QLineEdit):
                out[name] = ed.text()
        return out

    def values(self) -> dict[str, Any]:
        """Typed values of every editor; raises ValueError naming the setting whose text is invalid."""
        out = {}
        for name, value in self.raw_values().items():
            info = self._infos[name]
            if isinstance(value, str) and info.type is not str:
                if not value.strip() and info.type is tuple:
                    out[name] = []
                    continue
                try:
                    value = self.cls.coerce(name, value)
                except ValueError:
                    raise ValueError(f"{info.title}: {value!r} is not valid ({_tooltip(info)})") from None
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    def params(self) -> Params:
        """The settings the form describes, validated (ValueError names the bad one)."""
        return self.cls.from_params(self.values())

    def set_values(self, values: dict[str, Any]) -> None:
        """Put ``values`` into the editors; keys this form does not show are ignored."""
        for name, value in values.items():
            ed = self._editors.get(name)
            if ed is None or value is None:
                continue
            ed.blockSignals(True)
            try:
                if isinstance(ed, QCheckBox):
                    ed.setChecked(bool(value))
                elif isinstance(ed, QComboBox):
                    idx = ed.findData(value)
                    if idx < 0:
                        idx = ed.findText(str(value))
                    if idx >= 0:
                        ed.setCurrentIndex(idx)
                elif isinstance(ed, QSpinBox):
                    ed.setValue(int(value))
                elif isinstance(ed, QDoubleSpinBox):
                    ed.setValue(float(value))
                elif isinstance(ed, QPlainTextEdit):
                    ed.setPlainText(str(value))
                elif isinstance(ed, QLineEdit):
                    ed.setText(_fmt(value))
            finally:
                ed.blockSignals(False)
        self.changed.emit()
