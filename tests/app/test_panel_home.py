"""The Home panel says whether the workspace's demo zoo is built and shows what it measured."""
from __future__ import annotations

import shutil


def test_home_shows_zoo_state_and_figures(qtbot, app_context, tiny_zoo):
    from app.panels.home import HomePanel

    panel = HomePanel(app_context)
    qtbot.addWidget(panel)
    assert "not built yet" in panel.zoo_label.text() and panel.build_button.text() == "Build the demo zoo"
    assert panel.zoo_figures.isHidden()

    shutil.copytree(tiny_zoo, app_context.zoo_root())
    panel.refresh_zoo()
    assert "is built in" in panel.zoo_label.text() and panel.build_button.text() == "Rebuild the demo zoo"
    text = panel.zoo_figures.text()
    assert not panel.zoo_figures.isHidden() and "policy (level" in text and "GenPRM: verdict agreement" in text


def test_zoo_button_submits_a_named_profile(qtbot, app_context, monkeypatch):
    """Issue #18 blocker: clicked(bool) reached build_zoo(profile=False) -> "unknown zoo profile 'False'"."""
    from PySide6.QtCore import Qt

    from app.panels.home import HomePanel
    from backend.models.zoo.profiles import get_profile

    panel = HomePanel(app_context)
    qtbot.addWidget(panel)
    specs = []
    monkeypatch.setattr(panel, "submit", lambda spec: specs.append(spec) or f"run-{len(specs)}")
    monkeypatch.setattr(panel.zoo_controls, "track", lambda rid: None)
    qtbot.mouseClick(panel.build_button, Qt.MouseButton.LeftButton)
    panel.zoo_form.set_values({"profile": "tiny"})
    qtbot.mouseClick(panel.build_button, Qt.MouseButton.LeftButton)
    assert [s.params.get("profile", "demo") for s in specs] == ["demo", "tiny"]
    for s in specs:  # the backend accepts what the button sends
        get_profile(s.params.get("profile", "demo"))
