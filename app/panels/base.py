"""The panel base class and registry.

A panel is a thin view: it builds JobSpecs from its controls, submits them through the shared
runner, and draws results. It never runs heavy work on the GUI thread.

To add one, create ``app/panels/<name>.py`` with::

    @register_panel
    class MyPanel(Panel):
        panel_id = "mine"; title = "My method"; kinds = ("mine.run",); order = 50

        def __init__(self, context, parent=None):
            super().__init__(context, parent)
            ...                                # build widgets
        def show_run(self, run): ...            # draw a finished run (also from the history)
        def on_event(self, event): ...          # optional: live progress/metrics of own runs
        def restore_settings(self, run): ...    # optional: put a run's settings back in the form
                                                # (default: every ParamsForm gets run.spec.params)
"""
from __future__ import annotations

import importlib
import pkgutil
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QWidget

if TYPE_CHECKING:
    from app.context import AppContext
    from app.widgets.run_controls import RunControls
    from backend.jobs import JobEvent, JobSpec
    from backend.workspace import RunRecord

_PANELS: dict[str, type[Panel]] = {}
_BROKEN: dict[str, str] = {}


def register_panel(cls: type[Panel]) -> type[Panel]:
    if not cls.panel_id:
        raise ValueError(f"{cls.__name__} has no panel_id")
    _PANELS[cls.panel_id] = cls
    return cls


def discover_panels() -> list[type[Panel]]:
    """Import every module in ``app.panels`` and return registered panels by ``order``.

    A panel module that fails to import is recorded in :func:`broken_panels` instead of
    taking the whole window down.
    """
    import app.panels as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name in ("base",) or info.name.startswith("_"):
            continue
        name = f"app.panels.{info.name}"
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - shown to the user in the panel list
            _BROKEN[name] = traceback.format_exc()
    return sorted(_PANELS.values(), key=lambda c: (c.order, c.title))


def broken_panels() -> dict[str, str]:
    return dict(_BROKEN)


def panel_for_kind(kind: str) -> type[Panel] | None:
    for cls in _PANELS.values():
        if any(kind == k or (k.endswith(".*") and kind.startswith(k[:-1])) for k in cls.kinds):
            return cls
    return None


class Panel(QWidget):
    """Base of every capability panel."""

    panel_id: str = ""
    title: str = ""
    description: str = ""
    kinds: tuple[str, ...] = ()
    order: int = 100

    run_started = Signal(str)  # run id

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self._own_runs: set[str] = set()
        context.runner.event.connect(self._route_event)

    # -- for subclasses ---------------------------------------------------------------------
    def submit(self, spec: JobSpec) -> str:
        """Run ``spec`` on the shared runner (device from the toolbar unless the spec names one)."""
        if spec.device in ("", "auto", None):
            spec.device = self.context.device()
        handle = self.context.runner.submit(spec)
        self._own_runs.add(handle.run_id)
        from app.widgets.plots import mark_stale

        mark_stale(self, True)  # until this run's results are drawn
        self.run_started.emit(handle.run_id)
        return handle.run_id

    def submit_tracked(self, controls: RunControls, build: Callable[[], JobSpec]) -> str | None:
        """Build a spec and run it under ``controls``; a ValueError from ``build`` (a bad setting,
        a missing file) is shown on the controls' status line and nothing is submitted."""
        try:
            spec = build()
        except ValueError as exc:
            controls.set_error(str(exc))
            return None
        run_id = self.submit(spec)
        controls.track(run_id)
        return run_id

    def cancel(self, run_id: str) -> None:
        self.context.runner.cancel(run_id)

    def show_run(self, run: RunRecord) -> None:
        """Draw a run's result. Called when an own run finishes and when opened from history."""

    def on_event(self, event: JobEvent) -> None:
        """Live events (progress, metrics, logs) of runs this panel submitted."""

    def on_run_failed(self, run: RunRecord) -> None:
        """An own run failed or was cancelled; the jobs dock already shows the error."""

    def restore_settings(self, run: RunRecord) -> None:
        """Put ``run``'s settings back into this panel's form, so what is shown next to a run opened
        from the history is what produced it. The default hands the spec's params to every
        :class:`~app.widgets.params_form.ParamsForm` in the panel (keys a form lacks are ignored);
        panels with other editors (model pickers, files) override it and may call ``super()``."""
        from app.widgets.params_form import ParamsForm

        for form in self.findChildren(ParamsForm):
            form.set_values(dict(run.spec.params))

    def rerun(self, run: RunRecord) -> str:
        """Run ``run``'s spec again (same kind, params, inputs and device) and follow it here."""
        from backend.jobs import JobSpec

        self.restore_settings(run)
        spec = JobSpec.from_dict(run.spec.to_dict())
        spec.label = f"{run.spec.label or run.kind} (re-run of {run.id})"
        run_id = self.submit(spec)
        controls = getattr(self, "controls", None)
        if controls is not None and hasattr(controls, "track"):
            controls.track(run_id)
        return run_id

    # -- plumbing ---------------------------------------------------------------------------
    def _route_event(self, event: JobEvent) -> None:
        if event.run_id not in self._own_runs:
            return
        try:
            self.on_event(event)
            if event.type == "finished":
                run = self.context.workspace.get_run(event.run_id)
                if run.status == "succeeded":
                    from app.widgets.plots import mark_stale

                    mark_stale(self, False)
                    self.show_run(run)
                else:
                    self.on_run_failed(run)
        except Exception:  # noqa: BLE001 - a drawing bug must not kill the app
            from app.error_dialog import report_exception

            report_exception(f"Panel '{self.title}' failed to show run {event.run_id}", traceback.format_exc(), self)


def restore_widgets(editors: dict[str, QWidget], values: dict) -> None:
    """Set each editor named in ``editors`` to ``values[name]`` (missing names are left alone), for
    panels whose settings are plain widgets rather than a ParamsForm."""
    from PySide6.QtWidgets import (
        QAbstractButton,
        QComboBox,
        QDoubleSpinBox,
        QLineEdit,
        QSpinBox,
    )

    for name, editor in editors.items():
        if name not in values or values[name] is None:
            continue
        value = values[name]
        if hasattr(editor, "set_value"):  # model and path pickers
            editor.set_value(str(value))
        elif isinstance(editor, QSpinBox):
            editor.setValue(int(value))
        elif isinstance(editor, QDoubleSpinBox):
            editor.setValue(float(value))
        elif isinstance(editor, QComboBox):
            idx = editor.findData(value)
            editor.setCurrentIndex(idx if idx >= 0 else editor.findText(str(value)))
        elif isinstance(editor, QAbstractButton):
            editor.setChecked(bool(value))
        elif isinstance(editor, QLineEdit):
            editor.setText(",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value))


def scrollable(widget: QWidget, min_width: int = 300) -> QWidget:
    """``widget`` (a settings column) in a vertical scroll area, so a small window scrolls the
    form instead of crushing its rows."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFrame, QScrollArea

    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(widget)
    area.setMinimumWidth(max(min_width, widget.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width()))
    return area


def placeholder(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(mid); padding: 24px;")
    return label


def name_zero(form: QWidget, meanings: dict[str, str]) -> None:
    """Show what 0 means in a ParamsForm's spin boxes (``{"max_tokens": "auto", "limit": "all"}``):
    a setting whose 0 is "the model's default" or "every problem" should not read as zero."""
    from PySide6.QtWidgets import QSpinBox

    for name, text in meanings.items():
        editor = form.editor(name)
        if isinstance(editor, QSpinBox) and editor.minimum() == 0:
            editor.setSpecialValueText(text)
