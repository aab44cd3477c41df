"""ParamsForm edits a settings class without knowing it; RunControls follows real runs."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from backend.params import Params, param


@dataclass
class FormDemo(Params):
    method: str = param("ties", title="Method", choices=("ties", "dare"))
    drop: float = param(0.6, title="Drop rate", min=0.0, max=1.0)
    lr: float = param(5e-5, title="Learning rate", min=0.0, min_exclusive=True, log=True)
    steps: int = param(10, title="Steps", min=1, max=1000)
    normalize: bool = param(True, title="Normalize")
    lengths: tuple[int, ...] = param((64, 128), title="Lengths")
    template: str = param("Problem: {problem}", title="Template", multiline=True)
    seed: int = param(0, title="Seed", advanced=True)


def test_form_shows_defaults_and_returns_typed_values(qtbot):
    from app.widgets.params_form import ParamsForm

    form = ParamsForm(FormDemo)
    qtbot.addWidget(form)
    assert form.values() == FormDemo.defaults()
    assert form.names() == ["method", "drop", "lr", "steps", "normalize", "lengths", "template", "seed"]
    form.set_values({"method": "dare", "lr": 2e-4, "steps": 3, "normalize": False, "lengths": [8, 16],
                     "unknown": 1})
    p = form.params()
    assert (p.method, p.lr, p.steps, p.normalize, p.lengths) == ("dare", 2e-4, 3, False, (8, 16))
    form.editor("lr").setText("abc")
    with pytest.raises(ValueError, match="Learning rate"):
        form.values()
    form.editor("lr").setText("0")
    with pytest.raises(ValueError, match="Learning rate"):
        form.params()


def test_form_subset_and_changed_signal(qtbot):
    from app.widgets.params_form import ParamsForm

    form = ParamsForm(FormDemo, fields=("steps", "drop"))
    qtbot.addWidget(form)
    assert form.names() == ["steps", "drop"]
    with qtbot.waitSignal(form.changed, timeout=1000):
        form.editor("steps").setValue(5)


def _submit(ctx, **params):
    from backend.jobs import JobSpec

    return ctx.runner.submit(JobSpec("demo.count", params=params, device="cpu")).run_id


def test_run_controls_follow_success_failure_and_stop(qtbot, app_context):
    from app.widgets.run_controls import RunControls

    rc = RunControls(app_context, start_text="Go")
    qtbot.addWidget(rc)
    rc.show()
    started = []
    rc.start_requested.connect(lambda: started.append(1))
    rc.start_button.click()
    assert started == [1]

    with qtbot.waitSignal(rc.all_finished, timeout=10000):
        rc.track(_submit(app_context, steps=3))
        assert rc.busy and not rc.start_button.isEnabled()
    assert "Done in" in rc.status.text() and rc.start_button.isEnabled()
    rc.report("3 terms")
    assert rc.status.text().endswith("3 terms")

    with qtbot.waitSignal(rc.all_finished, timeout=10000):
        rc.track(_submit(app_context, steps=5, fail_at=2))
    assert "Failed:" in rc.status.text() and "demo failure at step 2" in rc.status.text()

    with qtbot.waitSignal(rc.all_finished, timeout=10000):
        rc.track(_submit(app_context, steps=2000, delay=0.01))
        qtbot.waitUntil(lambda: rc.progress.value() > 0, timeout=5000)
        rc.stop()
    assert "Cancelled" in rc.status.text()


def test_eta_and_duration_format():
    from app.widgets.run_controls import estimate_eta, format_duration

    assert format_duration(75) == "1:15" and format_duration(3725) == "1:02:05"
    assert estimate_eta(10.0, 0.5) == pytest.approx(10.0)
    assert estimate_eta(0.5, 0.5) is None and estimate_eta(10.0, None) is None


def test_wheel_over_an_unfocused_editor_does_not_change_it(qtbot):
    """Scrolling a long form must not turn the combo or spin box under the mouse."""
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    from app.widgets.params_form import ParamsForm

    form = ParamsForm(FormDemo)
    qtbot.addWidget(form)
    form.show()
    combo, spin = form.editor("method"), form.editor("steps")
    for ed in (combo, spin):
        ev = QWheelEvent(QPointF(5, 5), QPointF(5, 5), QPoint(0, 0), QPoint(0, -120), Qt.MouseButton.NoButton,
                         Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(ed, ev)
    assert combo.currentData() == "ties" and spin.value() == 10


def test_closed_advanced_group_is_its_check_box_alone(qtbot):
    """Closed, no empty frame under "Advanced"; opened, its fields show in full."""
    from app.widgets.params_form import ParamsForm

    form = ParamsForm(FormDemo)
    qtbot.addWidget(form)
    form.show()
    box = form.advanced_box
    assert box is not None and not box.isChecked()
    closed = box.height()
    assert closed <= box.fontMetrics().height() + 6 and not form.editor("seed").isVisible()
    box.setChecked(True)
    qtbot.waitUntil(lambda: form.editor("seed").isVisible())
    assert box.maximumHeight() > 10_000
