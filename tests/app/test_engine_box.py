"""The Engine box: engine settings into the JobSpec with the API key kept out, the one-line refusals."""
from __future__ import annotations

import os

import pytest


def test_changes_redact_the_key_and_restore(qtbot, monkeypatch):
    from app.widgets.engine_box import EngineBox
    from backend.generation.engines.params import KEY_ENV, REDACTED

    monkeypatch.delenv(KEY_ENV, raising=False)
    box = EngineBox()
    qtbot.addWidget(box)
    assert box.changes() == {} and box.title() == "Engine: hf, in this process"
    box.set_values({"engine": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-PANEL-1",
                    "strategies": ["beam"]})
    got = box.changes()
    assert got == {"engine": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": REDACTED}
    assert os.environ[KEY_ENV] == "sk-PANEL-1" and box.title() == "Engine: server 127.0.0.1:9"
    box.set_values({"api_key": REDACTED})                 # a recorded run never puts '<redacted>' in the field
    assert box.form.values()["api_key"] == "sk-PANEL-1"


def test_openai_without_url_is_refused(qtbot):
    from app.widgets.engine_box import EngineBox

    box = EngineBox()
    qtbot.addWidget(box)
    box.set_values({"engine": "openai"})
    with pytest.raises(ValueError, match="base_url"):
        box.changes()


def test_tts_panel_spec_carries_the_engine_not_the_key(qtbot, app_context, tiny_zoo):
    from app.panels.tts import TTSPanel

    panel = TTSPanel(app_context)
    qtbot.addWidget(panel)
    panel.policy.set_value(str(tiny_zoo / "arith-policy"))
    panel.data.set_value(str(tiny_zoo / "data" / "problems_eval.jsonl"))
    panel.engine_box.set_values({"engine": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-X"})
    panel.compute.set_values({"shards": 2})
    spec = panel.spec()
    assert spec.params["engine"] == "openai" and spec.params["shards"] == 2
    assert "sk-X" not in repr(spec.params)
