"""The position-embeddings panel trains variants × seeds as real (tiny) jobs and draws their curves."""
from __future__ import annotations


def test_panel_trains_side_by_side_and_draws(qtbot, app_context, tmp_path):
    from app.panels.positions import PositionsPanel

    text = tmp_path / "t.txt"
    text.write_text("Sphinx of black quartz, judge my vow. How vexingly quick daft zebras jump!\n" * 60)
    app_context.set_device_getter(lambda: "cpu")
    panel = PositionsPanel(app_context)
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    panel.source.setCurrentIndex(2)
    panel.text_file.set_value(str(text))
    panel.form.set_values({"steps": 3, "batch": 4, "d_model": 16, "heads": 2, "layers": 1, "train_len": 32})
    panel.seeds.setText("0,1")
    panel.lengths.setText("32,64")
    ids = panel.start()
    assert len(ids) == 4 and not panel.controls.start_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.controls.busy, timeout=120_000)
    for rid in ids:
        run = app_context.workspace.get_run(rid)
        assert run.status == "succeeded", run.error
    qtbot.waitUntil(lambda: len(panel.results) == 4, timeout=10_000)
    assert panel.ppl_plot.curve_names() == ["rope (n=2)", "fope (n=2)"]
    assert panel.recall_plot.curve_names() == ["rope (n=2)", "fope (n=2)"]
    assert panel.table.rowCount() == 4
    qtbot.waitUntil(lambda: len(panel.loss_plot.curve_names()) == 4, timeout=5_000)
    assert panel.spectrum.run_box.currentText().startswith("fope")
    assert "FoPE keeps 1 of 4" in panel.spectrum.note.text()   # head_dim 8, L=32: only ω=1 is ≥ 2π/32

    # a run opened from the history is drawn again
    other = PositionsPanel(app_context)
    qtbot.addWidget(other)
    other.show_run(app_context.workspace.get_run(ids[0]))
    assert other.ppl_plot.curve_names() == ["rope (n=1)"]

    # refusals are one line in the panel, before anything runs
    panel.lengths.setText("0,64")
    assert panel.start() == [] and "lengths" in panel.controls.status.text()
    for cb in panel.variant_boxes.values():
        cb.setChecked(False)
    assert panel.start() == [] and "check at least one variant" in panel.controls.status.text()


def test_cli_eval_run_joins_its_training_run(qtbot, app_context, tmp_path):
    """`fope train` then `fope eval` (the CLI's two runs): opening them draws the length curves."""
    from app.panels.positions import PositionsPanel
    from backend.jobs import JobSpec

    text = tmp_path / "t.txt"
    text.write_text("Sphinx of black quartz, judge my vow. How vexingly quick daft zebras jump!\n" * 60)
    model = tmp_path / "m"
    train = JobSpec("fope.train", params={"pos": "rope", "steps": 2, "batch": 4, "d_model": 16, "heads": 2,
                                          "layers": 1, "train_len": 32}, inputs={"text": str(text), "out": str(model)},
                    device="cpu")
    t = app_context.runner.submit(train)
    t.wait()
    e = app_context.runner.submit(JobSpec("fope.eval", params={"lengths": [32, 64], "windows": 2, "trials": 2},
                                          inputs={"model": str(model), "text": str(text)}, device="cpu"))
    e.wait()
    assert (t.status, e.status) == ("succeeded", "succeeded"), (t.error, e.error)
    panel = PositionsPanel(app_context)
    qtbot.addWidget(panel)
    panel.show_run(app_context.workspace.get_run(e.run_id))      # the eval alone: its training run is found
    assert panel.ppl_plot.curve_names() == ["rope (n=1)"]
    assert panel.table.rowCount() == 1
    assert panel.source.currentData() == "file" and panel.text_file.value() == str(text)
    assert panel.lengths.text() == "32,64"
    panel.show_run(app_context.workspace.get_run(t.run_id))      # opening the training run keeps the eval
    assert panel.ppl_plot.curve_names() == ["rope (n=1)"]


def test_perplexity_axis_is_labelled_within_one_decade():
    """pyqtgraph labels only powers of ten on a log axis: 13.9-15.6 needs its own ticks."""
    import math

    from app.panels._positions_views import _log_ticks

    ticks = _log_ticks(13.9, 15.6)[0]
    inside = [label for pos, label in ticks if math.log10(13.9) <= pos <= math.log10(15.6)]
    assert len(inside) >= 3 and "15" in inside
    assert _log_ticks(2.0, 300.0) is None            # a wide range keeps pyqtgraph's decade ticks
