"""Generative retrieval panel: index a corpus into an LM, search with trie-constrained beams, compare
with BM25, calibrate with DPO from relevance feedback.

Left: the corpus (BEIR files, or a synthetic knowledge base written on request), the index
settings and Index, the evaluation settings and Evaluate. Right, in tabs: Search (type a query,
see each decoding step's beams with the tokens the trie allowed them, and the ranked documents
beside BM25's), Metrics (per system, answer accuracy, index loss) and Calibration (DPO curves and
before/after). Long work runs as jobs; this panel only builds JobSpecs and draws results.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.panels.base import Panel, register_panel
from app.widgets.params_form import ParamsForm
from app.widgets.pickers import PathPicker
from app.widgets.plots import CurvePlot, GroupedBarChart, accuracy_axis
from app.widgets.run_controls import RunControls
from app.widgets.tables import DictTable
from backend.jobs import JobSpec
from backend.retrieval.params import EvalParams, IndexParams, SearchParams

SYSTEMS = ("constrained", "unconstrained", "bm25", "calibrated")
METRICS = ("recall@1", "recall@10", "mrr", "invalid_rate", "invalid_rate@1", "latency_ms")


@register_panel
class RetrievalPanel(Panel):
    panel_id = "retrieval"
    title = "Generative retrieval"
    description = "An LM as the search engine: trie-constrained identifiers, BM25 baseline, DPO calibration"
    kinds = ("retrieval.index", "retrieval.eval", "retrieval.search")
    order = 70

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._build_setup()
        self._build_views()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.setup_scroll)
        split.addWidget(self.tabs)
        split.setStretchFactor(1, 1)
        split.setSizes([420, 860])
        QVBoxLayout(self).addWidget(split)

    # -- building ---------------------------------------------------------------------------
    def _build_setup(self) -> None:
        corpus_box = QGroupBox("Corpus (BEIR layout)")
        self.corpus = PathPicker("file", "Corpus (*.jsonl)", "corpus.jsonl (_id, title, text)")
        self.queries = PathPicker("file", "Queries (*.jsonl)", "queries.jsonl (_id, text)")
        self.qrels = PathPicker("file", "Qrels (*.tsv)", "qrels/test.tsv (query-id, corpus-id, score)")
        self.synth_docs = QSpinBox()
        self.synth_docs.setRange(10, 100000)
        self.synth_docs.setValue(100)
        self.synth_docs.setToolTip("documents of the synthetic knowledge base (known answers)")
        self.synth_btn = QPushButton("Make synthetic KB")
        self.synth_btn.setToolTip("write corpus, test/train queries and qrels into the workspace and load them")
        self.synth_btn.clicked.connect(self.make_synthetic)
        row = QHBoxLayout()
        row.addWidget(self.synth_docs)
        row.addWidget(self.synth_btn, 1)
        form = QFormLayout(corpus_box)
        form.addRow("Corpus", self.corpus)
        form.addRow("Queries", self.queries)
        form.addRow("Qrels", self.qrels)
        form.addRow("Synthetic", row)

        index_box = QGroupBox("Index: fine-tune the LM on pseudo-queries → identifier")
        self.index_form = ParamsForm(IndexParams)
        self.index_dir = PathPicker("dir", placeholder="index folder (default: inside the run)")
        self.index_controls = RunControls(self.context, start_text="Index")
        self.index_controls.start_requested.connect(self.start_index)
        lay = QVBoxLayout(index_box)
        lay.addWidget(self.index_form)
        f2 = QFormLayout()
        f2.addRow("Index folder", self.index_dir)
        lay.addLayout(f2)
        lay.addWidget(self.index_controls)
        self.index_info = QLabel("")
        self.index_info.setWordWrap(True)
        lay.addWidget(self.index_info)

        eval_box = QGroupBox("Evaluate: constrained, unconstrained, BM25 (+ calibrated)")
        self.eval_form = ParamsForm(EvalParams)
        self.eval_controls = RunControls(self.context, start_text="Evaluate")
        self.eval_controls.start_requested.connect(self.start_eval)
        lay = QVBoxLayout(eval_box)
        lay.addWidget(self.eval_form)
        lay.addWidget(self.eval_controls)

        holder = QWidget()
        col = QVBoxLayout(holder)
        for box in (corpus_box, index_box, eval_box):
            col.addWidget(box)
        col.addStretch(1)
        self.setup_scroll = QScrollArea()
        self.setup_scroll.setWidgetResizable(True)
        self.setup_scroll.setWidget(holder)
        self.setup_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setup_scroll.setMinimumWidth(400)

    def _build_views(self) -> None:
        self.tabs = QTabWidget()
        # Search
        search = QWidget()
        self.query_edit = QLineEdit()
        self.query_edit.setPlaceholderText("type a question, then Search (uses the index folder on the left)")
        self.query_edit.returnPressed.connect(self.start_search)
        self.search_form = ParamsForm(SearchParams, fields=("beams", "constrained"))
        self.search_controls = RunControls(self.context, start_text="Search")
        self.search_controls.start_requested.connect(self.start_search)
        top = QHBoxLayout()
        top.addWidget(self.query_edit, 3)
        top.addWidget(self.search_form, 1)
        top.addWidget(self.search_controls, 1)
        self.trie_tree = QTreeWidget()
        self.trie_tree.setHeaderLabels(["step / beam prefix", "score (log p)", "allowed by trie", "top next tokens"])
        self.trie_tree.setColumnWidth(0, 220)
        self.trie_tree.setColumnWidth(1, 90)
        self.trie_tree.setColumnWidth(2, 100)
        self.gen_table = DictTable()
        self.bm25_table = DictTable()
        tables = QSplitter(Qt.Orientation.Horizontal)
        for title, table in (("Generative retriever (log p)", self.gen_table), ("BM25 (score)", self.bm25_table)):
            box = QGroupBox(title)
            QVBoxLayout(box).addWidget(table)
            tables.addWidget(box)
        walk = QGroupBox("Beams walking the trie (each step: live beams, how many tokens the trie allowed, "
                         "the best of them)")
        QVBoxLayout(walk).addWidget(self.trie_tree)
        vs = QSplitter(Qt.Orientation.Vertical)
        vs.addWidget(walk)
        vs.addWidget(tables)
        vs.setSizes([330, 250])
        lay = QVBoxLayout(search)
        lay.addLayout(top)
        lay.addWidget(vs, 1)
        self.tabs.addTab(search, "Search")
        # Metrics
        metrics = QWidget()
        self.metrics_table = DictTable()
        self.answers_table = DictTable()
        self.index_plot = CurvePlot("Indexing loss (identifier tokens)", "step", "cross-entropy")
        self.metrics_note = QLabel("Evaluate an index to fill this table.")
        self.metrics_note.setWordWrap(True)
        lay = QVBoxLayout(metrics)
        lay.addWidget(self.metrics_note)
        lay.addWidget(self.metrics_table, 2)
        low = QHBoxLayout()
        ans_box = QGroupBox("Answer accuracy (reader over the top-k documents)")
        QVBoxLayout(ans_box).addWidget(self.answers_table)
        low.addWidget(ans_box, 1)
        low.addWidget(self.index_plot, 1)
        lay.addLayout(low, 3)
        self.tabs.addTab(metrics, "Metrics")
        # Calibration
        calib = QWidget()
        # loss and pair accuracy live on 0-1, the reward margin grows to ~10: two axes, not one
        self.dpo_plot = CurvePlot("DPO loss and pair accuracy", "step", "")
        self.margin_plot = CurvePlot("DPO reward margin", "step", "chosen − rejected")
        self.before_after = GroupedBarChart()
        self.before_after.setTitle("Before / after calibration (test queries)")
        self.calib_note = QLabel("Evaluate with 'Calibrate' ticked to see DPO curves.")
        self.calib_note.setWordWrap(True)
        lay = QVBoxLayout(calib)
        lay.addWidget(self.calib_note)
        row = QHBoxLayout()
        curves = QVBoxLayout()
        curves.addWidget(self.dpo_plot)
        curves.addWidget(self.margin_plot)
        row.addLayout(curves, 3)
        row.addWidget(self.before_after, 2)
        lay.addLayout(row, 1)
        self.tabs.addTab(calib, "Calibration")

    # -- actions ----------------------------------------------------------------------------
    def make_synthetic(self) -> Path:
        from backend.retrieval.synth import write_kb

        folder = Path(self.context.workspace.root) / "retrieval" / f"kb{self.synth_docs.value()}"
        write_kb(folder, self.synth_docs.value())
        self.corpus.set_value(str(folder / "corpus.jsonl"))
        self.queries.set_value(str(folder / "queries.jsonl"))
        self.qrels.set_value(str(folder / "qrels" / "test.tsv"))
        if not self.index_dir.value():
            self.index_dir.set_value(str(folder.with_name(folder.name + "-index")))
        return folder

    def start_index(self) -> str | None:
        from backend.retrieval.beir import load_corpus

        try:
            params = self.index_form.params()
            if not self.corpus.value():
                raise ValueError("choose a corpus.jsonl (or make a synthetic KB)")
            load_corpus(self.corpus.value())
        except ValueError as exc:
            self.index_controls.set_error(str(exc))
            return None
        inputs = {"corpus": self.corpus.value()}
        if self.index_dir.value():
            inputs["out"] = self.index_dir.value()
        run_id = self.submit(JobSpec("retrieval.index", params=params.to_dict(), inputs=inputs,
                                     label="retrieval index"))
        self.index_controls.track(run_id)
        self.index_plot.clear_curves()
        self._index_curve: list[tuple[float, float]] = []
        return run_id

    def _need_index(self, controls: RunControls) -> str | None:
        folder = self.index_dir.value()
        if not folder or not (Path(folder) / "index.json").is_file():
            controls.set_error("no index yet: choose an index folder, or Index a corpus first")
            return None
        return folder

    def start_eval(self) -> str | None:
        from backend.retrieval.beir import load_qrels, load_queries

        folder = self._need_index(self.eval_controls)
        if folder is None:
            return None
        try:
            params = self.eval_form.params()
            load_queries(self.queries.value() or "queries.jsonl")
            load_qrels(self.qrels.value() or "qrels.tsv")
        except ValueError as exc:
            self.eval_controls.set_error(str(exc))
            return None
        spec = JobSpec("retrieval.eval", params=params.to_dict(), label="retrieval eval",
                       inputs={"index": folder, "queries": self.queries.value(), "qrels": self.qrels.value()})
        run_id = self.submit(spec)
        self.eval_controls.track(run_id)
        return run_id

    def start_search(self) -> str | None:
        folder = self._need_index(self.search_controls)
        if folder is None:
            return None
        try:
            params = SearchParams.from_params({**self.search_form.values(), "query": self.query_edit.text()})
        except ValueError as exc:
            self.search_controls.set_error(str(exc))
            return None
        run_id = self.submit(JobSpec("retrieval.search", params=params.to_dict(), inputs={"index": folder},
                                     label="retrieval search"))
        self.search_controls.track(run_id)
        return run_id

    # -- drawing ----------------------------------------------------------------------------
    def on_event(self, event) -> None:
        if event.type == "metric" and event.data.get("name") == "index/loss":
            self._index_curve = getattr(self, "_index_curve", []) + [(event.data.get("step"), event.data["value"])]
            self.index_plot.set_curve("loss", *zip(*self._index_curve))

    def show_run(self, run) -> None:
        if run.status != "succeeded" or not run.result:
            return
        kind, inputs = run.spec.kind, run.spec.inputs
        if kind == "retrieval.index":
            self.index_form.set_values(run.spec.params)      # a run from the history restores its form
            self.corpus.set_value(inputs.get("corpus", ""))
            self.show_index(run.result)
        elif kind == "retrieval.eval":
            self.eval_form.set_values(run.spec.params)
            self.queries.set_value(inputs.get("queries", ""))
            self.qrels.set_value(inputs.get("qrels", ""))
            self.index_dir.set_value(inputs.get("index", ""))
            self.show_eval(run.result)
        elif kind == "retrieval.search":
            self.show_search(run.result)

    def show_index(self, result: dict) -> None:
        import json

        self.index_dir.set_value(result["out"])
        meta = json.loads((Path(result["out"]) / "index.json").read_text(encoding="utf-8"))
        curve = meta.get("loss_curve", [])
        if curve:
            self.index_plot.set_curve("loss", [s for s, _ in curve], [v for _, v in curve])
        self.index_info.setText(
            f"Indexed {result['docs']} documents ({result['pseudo_queries']} pseudo-queries) in "
            f"{result['seconds']} s; final loss {result['final_loss']:.3f}.")

    def show_eval(self, result: dict) -> None:
        rows = [{"system": name, **{m: result[name].get(m) for m in METRICS}} for name in SYSTEMS if name in result]
        self.metrics_table.set_rows(rows, ["system", *METRICS],
                                    ["system", "recall@1", "recall@10", "MRR", "invalid rate", "invalid @1",
                                     "ms / query"])
        self.metrics_note.setText(f"{result.get('queries')} judged queries over {result.get('docs')} documents. "
                                  "Invalid rate: share of returned sequences that name no document (constrained "
                                  "decoding: 0 by construction). BM25 runs at bm25s defaults.")
        ans = result.get("answers") or {}
        if ans.get("queries"):
            names = [k for k in ("no_retrieval", "bm25", "constrained", "unconstrained", "calibrated", "oracle")
                     if k in ans]
            self.answers_table.set_rows([{"context": k.replace("_", " "), "accuracy": ans[k]} for k in names])
        calib = result.get("calibration")
        if calib:
            curve = calib["curve"]
            steps = [r["step"] for r in curve]
            self.dpo_plot.clear_curves()
            self.margin_plot.clear_curves()
            for key in ("loss", "pair_accuracy"):
                self.dpo_plot.set_curve(key.replace("_", " "), steps, [r[key] for r in curve], symbol=None)
            self.margin_plot.set_curve("reward margin", steps, [r["reward_margin"] for r in curve], symbol=None)
            cats = ["recall@1", "recall@10", "mrr"]
            self.before_after.set_data(cats, {"before": [result["constrained"][c] for c in cats],
                                              "after": [result["calibrated"][c] for c in cats]})
            accuracy_axis(self.before_after, what="recall / MRR")   # the app's one convention: 0-1
            fb = calib["feedback"]
            self.calib_note.setText(
                f"Feedback on {fb['queries']} training queries: top-1 preferred on {fb['top1_preferred']}, "
                f"no preferred beam on {fb['no_preferred_beam']}; {fb['pairs']} preference pairs; "
                f"DPO β = {calib['beta']}.")
        self.tabs.setCurrentIndex(1)

    def show_search(self, result: dict) -> None:
        self.trie_tree.clear()
        for n, step in enumerate(result.get("trace", []), 1):
            node = QTreeWidgetItem([f"step {n}", "", f"{len(step)} beams", ""])
            for beam in step:
                allowed = "any (free)" if beam["allowed"] is None else str(beam["allowed"])
                nxt = "  ".join(f"{t['token']!r} {t['logp']:.2f}" for t in beam["next"])
                QTreeWidgetItem(node, [repr(beam["prefix"]), f"{beam['score']:.3f}", allowed, nxt])
            self.trie_tree.addTopLevelItem(node)
            node.setExpanded(n <= 3)
        self.gen_table.set_rows([{"rank": i + 1, "identifier": h["identifier"], "doc": h["doc_id"] or "(invalid)",
                                  "log p": h["score"]} for i, h in enumerate(result.get("hits", []))],
                                ["rank", "identifier", "doc", "log p"])
        self.bm25_table.set_rows([{"rank": i + 1, "identifier": b["identifier"], "doc": b["doc_id"],
                                   "score": b["score"]} for i, b in enumerate(result.get("bm25", []))],
                                 ["rank", "identifier", "doc", "score"])
        self.query_edit.setText(result.get("query", ""))
        self.tabs.setCurrentIndex(0)
