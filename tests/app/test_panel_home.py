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
