"""Which engine samples the policy (``backend.generation.engines.EngineParams``): hf in this
process, vLLM, or a running OpenAI-compatible server (``python main.py serve``).

A collapsible "Engine" group, closed by default with a one-line summary in its title (like the
Compute box), so it costs one line at 1280x720. The API key field is masked, and the key never
enters a JobSpec: :meth:`EngineBox.changes` goes through ``engine_spec_params``, which moves it
into this process's environment (jobs run here or in children) and records ``<redacted>``.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtWidgets import QGroupBox, QLineEdit, QVBoxLayout, QWidget

from app.widgets.fold import make_foldable
from app.widgets.params_form import ParamsForm
from backend.generation.engines.params import REDACTED, EngineParams


SERVER_ONLY = ("base_url", "model", "api_key", "max_concurrency", "request_timeout")


class EngineBox(QGroupBox):
    """A ``ParamsForm`` over :class:`EngineParams` whose changes are safe to record."""

    def __init__(self, scope: str = "", device: Callable[[], str] | None = None,
                 parent: QWidget | None = None) -> None:
        """``scope`` says what the engine generates when it is not the policy (a PRM's critiques);
        ``device`` gives the panel's device (vLLM is refused where it cannot run)."""
        super().__init__(parent)
        self._head = f"Engine ({scope})" if scope else "Engine"
        self._device = device
        self.setCheckable(True)
        self.setChecked(False)
        self.body = QWidget(self)
        self.form = ParamsForm(EngineParams, parent=self.body)
        key = self.form.editor("api_key")
        if isinstance(key, QLineEdit):
            key.setEchoMode(QLineEdit.EchoMode.Password)
            key.setPlaceholderText("empty: $OPENAI_API_KEY")
            key.setToolTip(key.toolTip() or "sent as a Bearer token; never written into run records")
        url = self.form.editor("base_url")
        if isinstance(url, QLineEdit):
            url.setPlaceholderText("http://127.0.0.1:8000/v1")
        model = self.form.editor("model")
        if isinstance(model, QLineEdit):
            model.setPlaceholderText("the server's first model")
        inner = QVBoxLayout(self.body)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(self.form)
        lay = QVBoxLayout(self)
        lay.addWidget(self.body)
        make_foldable(self, self.body, lay)
        self.form.changed.connect(self._retitle)
        self._retitle()

    def _retitle(self) -> None:
        values = self.form.values()
        engine = values.get("engine", "hf")
        for name in SERVER_ONLY:              # what only the openai engine reads is greyed out otherwise
            self.form.editor(name).setEnabled(engine == "openai")
        if engine == "hf":
            what = "hf, in this process"
        elif engine == "vllm":
            what = "vLLM (CUDA)"
        else:                                 # host:port only: the title must fit a 330 px column
            url = str(values.get("base_url") or "")
            host = url.split("://", 1)[-1].split("/", 1)[0]
            what = f"server {host}" if host else "server (no URL yet)"
        self.setTitle(f"{self._head}: {what}")

    def changes(self) -> dict[str, Any]:
        """Settings that differ from the defaults, validated (ValueError with the reason: a missing
        URL, vLLM unavailable here), the API key replaced by ``<redacted>``."""
        from backend.generation.engines.params import engine_spec_params

        p = self.form.params()
        defaults = EngineParams().to_dict()
        given = {k: v for k, v in p.to_dict().items() if v != defaults[k]}
        return engine_spec_params(given, self._device() if self._device else "auto") if given else {}

    def set_values(self, values: dict) -> None:
        """Restore from a run's params (other keys ignored; a recorded key stays out of the form)."""
        mine = {k: v for k, v in values.items() if k in self.form.names() and not (k == "api_key" and v == REDACTED)}
        self.form.set_values(mine)
        self._retitle()
