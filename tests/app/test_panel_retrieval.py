"""The generative retrieval panel: synthetic KB, a real (tiny) index, one search with its trie walk,
an evaluation with calibration, and a refusal shown in the panel. Set ``RETRIEVAL_SHOTS=DIR`` to save
1280x720 PNGs of the panel in light and dark themes."""
from __future__ import annotations

import os


def _wait(qtbot, ctx, run_id, timeout=120_000):
    qtbot.waitUntil(lambda: ctx.workspace.get_run(run_id).status in ("succeeded", "failed", "cancelled"),
                    timeout=timeout)
    run = ctx.workspace.get_run(run_id)
    assert run.status == "succeeded", run.error
    return run


def test_panel_indexes_searches_and_evaluates(qtbot, app_context, qapp):
    from app.panels.retrieval import RetrievalPanel

    panel = RetrievalPanel(app_context)
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    app_context.set_device_getter(lambda: "cpu")
    # refusals before anything is submitted
    assert panel.start_search() is None and "no index yet" in panel.search_controls.status.text()
    assert panel.start_index() is None and "corpus" in panel.index_controls.status.text()

    panel.synth_docs.setValue(12)
    folder = panel.make_synthetic()
    assert (folder / "corpus.jsonl").is_file() and panel.qrels.value().endswith("test.tsv")
    panel.index_form.set_values({"model": "scratch", "steps": 4, "batch": 4, "hidden": 32})
    run_id = panel.start_index()
    assert run_id
    _wait(qtbot, app_context, run_id)
    qtbot.waitUntil(lambda: not panel.index_controls.busy, timeout=10_000)
    assert "Indexed 12 documents" in panel.index_info.text()
    assert panel.index_plot.curve_names() == ["loss"]

    panel.query_edit.setText("What is the stone colour of the lake in Ostrava?")
    panel.search_form.set_values({"beams": 4})
    run_id = panel.start_search()
    _wait(qtbot, app_context, run_id)
    qtbot.waitUntil(lambda: panel.gen_table.rowCount() == 4, timeout=10_000)
    assert panel.trie_tree.topLevelItemCount() >= 2
    # identifiers start with a space, then the trie allows exactly the titles' first characters
    assert panel.trie_tree.topLevelItem(0).child(0).text(2) == "1"
    assert panel.trie_tree.topLevelItem(1).child(0).text(2) == str(len({t[0] for t in panel_titles(folder)}))
    assert all(panel.gen_table.cell_text(r, 2) != "(invalid)" for r in range(4))
    assert panel.bm25_table.rowCount() >= 1

    panel.eval_form.set_values({"beams": 4, "max_queries": 4, "calibrate": True, "feedback_queries": 4,
                                "dpo_steps": 3, "dpo_batch": 2})
    run_id = panel.start_eval()
    _wait(qtbot, app_context, run_id, timeout=180_000)
    qtbot.waitUntil(lambda: panel.metrics_table.rowCount() == 4, timeout=10_000)
    systems = [panel.metrics_table.cell_text(r, 0) for r in range(4)]
    assert systems == ["constrained", "unconstrained", "bm25", "calibrated"]
    assert panel.metrics_table.cell_text(0, 4) == "0"          # invalid rate of constrained decoding
    assert panel.dpo_plot.curve_names() == ["loss", "pair accuracy"] and "preference pairs" in panel.calib_note.text()
    assert panel.margin_plot.curve_names() == ["reward margin"]          # its own axis: it grows to ~10

    shots = os.environ.get("RETRIEVAL_SHOTS")
    if shots:
        from app.theme import apply_theme

        for mode in ("light", "dark"):
            apply_theme(qapp, mode)
            for tab in range(3):
                panel.tabs.setCurrentIndex(tab)
                qtbot.wait(200)
                panel.grab().save(os.path.join(shots, f"retrieval_{mode}_{tab}.png"))
        apply_theme(qapp, "light")


def panel_titles(folder):
    from backend.retrieval.beir import load_corpus

    return [d.title for d in load_corpus(folder / "corpus.jsonl")]
