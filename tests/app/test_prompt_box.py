"""The prompt settings in the TTS and TTRL panels reach the JobSpec under the CLI's names."""
from __future__ import annotations


def test_tts_panel_sends_prompt_settings_and_refuses_a_template_without_problem(qtbot, app_context, tmp_path):
    from app.panels.tts import TTSPanel

    panel = TTSPanel(app_context)
    qtbot.addWidget(panel)
    data = tmp_path / "p.jsonl"
    data.write_text('{"problem": "1+1", "answer": "2"}\n')
    panel.data.set_value(str(data))
    assert not any(k in panel.spec().params for k in ("system_prompt", "chat_template", "delimiter"))
    panel.prompt_box.form.set_values({"system_prompt": "Put the answer in \\boxed{}.", "chat_template": False,
                                      "delimiter": "\\n\\n"})
    params = panel.spec().params
    assert (params["system_prompt"], params["chat_template"], params["delimiter"]) == \
        ("Put the answer in \\boxed{}.", False, "\\n\\n")
    assert "system prompt" in panel.prompt_box.title()
    panel.prompt_box.form.set_values({"prompt_template": "no placeholder"})
    assert panel.start() is None and "{problem}" in panel.status.text()


def test_ttrl_panel_has_no_step_settings(qtbot, app_context):
    from app.panels.ttrl import TTRLPanel

    panel = TTRLPanel(app_context)
    qtbot.addWidget(panel)
    assert set(panel.prompt_box.form.names()) == {"chat_template", "system_prompt", "prompt_template"}
