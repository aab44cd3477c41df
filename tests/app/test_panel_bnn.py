"""The binary-networks panel runs methods × seeds side by side and draws their curves, spread and histograms."""
from __future__ import annotations

import os

import numpy as np


def _tiny(panel):
    panel.form.set_values({"epochs": 2, "pretrain_epochs": 2, "hidden": 16, "batch_size": 128})
    for m, cb in panel.method_boxes.items():
        cb.setChecked(m in ("ste-sgd", "fsg"))
    panel.seeds.setValue(2)


def test_panel_runs_methods_over_seeds_and_reopens_the_batch(qtbot, app_context, tmp_path):
    from app.panels.bnn import FILE_CHOICE, BnnPanel

    panel = BnnPanel(app_context)
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    _tiny(panel)
    ids = panel.start()
    assert len(ids) == 4 and panel.controls.busy
    qtbot.waitUntil(lambda: not panel.controls.busy, timeout=120_000)
    runs = [app_context.workspace.get_run(r) for r in ids]
    assert all(r.status == "succeeded" for r in runs), [r.error for r in runs]
    qtbot.waitUntil(lambda: all(e["result"] for e in panel._runs.values()), timeout=10_000)
    panel._dirty = True
    panel._redraw()
    assert set(panel.loss_plot.curve_names()) == {"STE + SGD", "FSG (fast + slow)"}
    assert panel.table.rowCount() == 2 and "±" in panel.table.cell_text(0, 2)
    assert "p=" in panel.table.cell_text(1, 7)
    assert panel.hist_method.currentData() == "fsg" and len(panel.hist_plot.curve_names()) == 2
    if os.environ.get("BENCHTOP_SCREENSHOTS"):
        panel.grab().save(os.path.join(os.environ["BENCHTOP_SCREENSHOTS"], "bnn_panel.png"))

    # opening one run from the history brings back its whole batch
    fresh = BnnPanel(app_context)
    qtbot.addWidget(fresh)
    fresh.show_run(runs[1])
    assert len(fresh._runs) == 4 and fresh.table.rowCount() == 2

    # a malformed file is refused in the panel with one line naming it; nothing is submitted
    bad = tmp_path / "onecls.npz"
    np.savez(bad, X=np.ones((12, 3)), y=np.zeros(12, dtype=int))
    panel.data.setCurrentText(FILE_CHOICE)
    panel.data_file.set_value(str(bad))
    before = len(app_context.workspace.list_runs())
    assert panel.start() == []
    assert "onecls.npz" in panel.controls.status.text() and "one class" in panel.controls.status.text()
    assert len(app_context.workspace.list_runs()) == before
