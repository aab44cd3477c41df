"""The prompt settings every generating panel shows (``backend.generation.prompting.PromptParams``):
chat template on/off, system prompt, template with ``{problem}``, step delimiter, stop strings.

A collapsible group, closed by default with a one-line summary in its title, so the panels'
other settings stay in view at 1280x720; what the user changed goes into the JobSpec's params
under the same names as the CLI's options (``--system-prompt``, ``--no-chat-template``, ...).
"""
from __future__ import annotations

from typing import Any, Iterable

from PySide6.QtWidgets import QGroupBox, QVBoxLayout, QWidget

from app.widgets.fold import make_foldable
from app.widgets.params_form import ParamsForm
from backend.generation.prompting import PromptParams


class PromptBox(QGroupBox):
    """A ``ParamsForm`` over :class:`PromptParams` (``exclude`` drops fields a job does not use)."""

    def __init__(self, exclude: Iterable[str] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCheckable(True)
        self.setChecked(False)
        self.form = ParamsForm(PromptParams, exclude=exclude, parent=self)
        lay = QVBoxLayout(self)
        lay.addWidget(self.form)
        make_foldable(self, self.form, lay)
        self.form.changed.connect(self._retitle)
        self.setToolTip("How problems are put to the policy: the tokenizer's chat template when it has one, "
                        "else 'Problem: {problem}'; steps end at \\n\\n for real models, \\n for the demo zoo. "
                        "Tick to change.")
        self._retitle()

    def _retitle(self) -> None:
        try:
            changed = self.changes()
        except ValueError:
            changed = {"?": "invalid"}
        # short, so the box does not widen the panel's settings column (its title sets its width)
        default = "chat template; steps on \\n\\n (zoo \\n)" if "delimiter" in self.form.names() else \
            "the model's chat template, if any"
        what = ", ".join(k.replace("_", " ") for k in changed) if changed else default
        self.setTitle(f"Prompt: {what}")

    def changes(self) -> dict[str, Any]:
        """The settings that differ from the defaults (validated; raises ValueError with the reason)."""
        params = self.form.params()
        defaults = PromptParams().to_dict()
        return {k: v for k, v in params.to_dict().items() if k in self.form.names() and v != defaults[k]}

    def set_values(self, values: dict) -> None:
        """Restore from a run's params (unknown keys ignored)."""
        self.form.set_values({k: v for k, v in values.items() if k in self.form.names()})
        self._retitle()
