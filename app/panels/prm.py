"""PRM panel: inspect a solution step by step with one or two process reward models, and
evaluate a PRM on ProcessBench (F1 table, threshold sweep, disagreements clickable into steps).

All scoring runs as jobs (``prm.score``, ``prm.processbench``); this view only builds specs and
draws results, so it redraws any past run from the history as well. Both tabs have an Engine box
(a GenPRM's critiques from hf, vLLM or a server: ``EngineParams``); ProcessBench also a Compute
box (its shards: ``ExecutorParams``).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QListWidget,
    QListWidgetItem, QPlainTextEdit, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget,
)

from app.panels.base import Panel, name_zero, register_panel, restore_widgets, scrollable
from app.panels._prm_cards import StepColumn
from app.widgets.compute_box import ComputeBox
from app.widgets.engine_box import EngineBox
from app.widgets.params_form import ParamsForm
from app.widgets.pickers import ModelPicker, PathPicker
from app.widgets.plots import CurvePlot
from app.widgets.run_controls import RunControls
from app.widgets.tables import DictTable
from backend.generation.engines.params import EngineParams
from backend.jobs import JobSpec
from backend.scale.params import ExecutorParams
from backend.prm.params import PRMParams, PRMScoreParams, ProcessBenchParams

if TYPE_CHECKING:
    from app.context import AppContext
    from backend.workspace import RunRecord

SCORE, BENCH = "prm.score", "prm.processbench"


def _zoo_processbench(zoo: Path) -> str:
    data = zoo / "data"
    found = sorted(data.glob("*processbench*.jsonl")) if data.is_dir() else []
    return str(found[0]) if found else ""


def _settings_column(*boxes: QWidget, controls: QWidget) -> QWidget:
    """The boxes in a scroll area, with the run controls (button, progress, status) below it, always in view."""
    inner = QWidget()
    il = QVBoxLayout(inner)
    il.setContentsMargins(0, 0, 0, 0)
    for b in boxes:
        il.addWidget(b)
    il.addStretch(1)
    column = QWidget()
    lay = QVBoxLayout(column)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(scrollable(inner), 1)
    lay.addWidget(controls)
    return column


def _name_auto(combo: QComboBox) -> None:
    """The format combo's ``auto`` entry says what it does."""
    combo.setItemText(combo.findData("auto"), "auto (from the folder)")


def truth_text(label: int | None) -> str:  # ProcessBench's label: first wrong step (0-based) or -1
    if label is None:
        return "not labelled"
    return "every step is correct" if int(label) < 0 else f"first error at step {int(label) + 1}"


@register_panel
class PRMPanel(Panel):
    panel_id = "prm"
    title = "PRM steps"
    description = "Process reward models: step scores, generative verification, ProcessBench"
    kinds = (SCORE, BENCH)
    order = 40

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._records: list[dict] = []
        self._bench_samples: list[dict] = []
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_steps_tab(), "Steps")
        self.tabs.addTab(self._build_bench_tab(), "ProcessBench")
        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs)

    # -- steps tab ----------------------------------------------------------------------------
    def _build_steps_tab(self) -> QWidget:
        zoo = self.context.zoo_root()
        box = QGroupBox("Solution")
        form = QFormLayout(box)
        self.source = PathPicker("file", "Solutions (*.jsonl)", "optional: pick a solution from a JSONL file")
        self.source.set_value(_zoo_processbench(zoo))  # the zoo's ProcessBench file, when built
        self.record_pick = QComboBox()
        self.record_pick.currentIndexChanged.connect(self._pick_record)
        load = QPushButton("Load file")
        load.clicked.connect(self._load_source)
        row = QHBoxLayout()
        row.addWidget(self.record_pick, 1)
        row.addWidget(load)
        self.problem = QPlainTextEdit()
        self.problem.setPlaceholderText("problem")
        self.problem.setMaximumHeight(60)
        self.solution = QPlainTextEdit()
        self.solution.setPlaceholderText("solution: one step per line, Step k: labels, or blank-line paragraphs")
        self.solution.setMinimumHeight(110)  # the text being judged: keep several lines in view
        self.prm_a = ModelPicker(zoo, default="zoo:arith-prm", name_filter="prm")
        self.compare = QCheckBox("compare with")
        self.prm_b = ModelPicker(zoo, default="zoo:arith-genprm", name_filter="prm")
        # the scoring settings (defaults, ranges, tooltips) come from PRMScoreParams; split first
        names = ["split", *(i.name for i in PRMScoreParams.describe() if i.name != "split")]
        self.score_form = ParamsForm(PRMScoreParams, fields=names, parent=self)
        self.split, self.preset = self.score_form.editor("split"), self.score_form.editor("preset")
        self.threshold, self.samples = self.score_form.editor("threshold"), self.score_form.editor("samples")
        _name_auto(self.preset)
        name_zero(self.score_form, {"samples": "PRM's own", "max_new_tokens": "PRM's own"})
        self.score_controls = RunControls(self.context, start_text="Score steps")
        self.score_controls.start_requested.connect(self.score)
        self.score_btn, self.status = self.score_controls.start_button, self.score_controls.status
        self.truth = QLabel("")  # the record's ground-truth first error (ProcessBench label)
        self.truth.setObjectName("prm_truth")
        self.truth.setWordWrap(True)
        form.addRow("From file", self.source)
        form.addRow("Record", self._wrap(row))
        form.addRow("Ground truth", self.truth)
        form.addRow("Problem", self.problem)
        form.addRow("Solution", self.solution)
        form.addRow("PRM", self.prm_a)
        form.addRow(self.compare, self.prm_b)
        scoring = QGroupBox("Scoring")
        self.score_engine = EngineBox("critiques", device=self.context.device)
        sl = QVBoxLayout(scoring)
        sl.addWidget(self.score_form)
        sl.addWidget(self.score_engine)
        self.col_a, self.col_b = StepColumn(), StepColumn()
        self.col_b.setVisible(False)
        if self.source.value():
            self._load_source()
        right = QSplitter(Qt.Orientation.Horizontal)
        right.addWidget(self.col_a)
        right.addWidget(self.col_b)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(_settings_column(box, scoring, controls=self.score_controls))
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([360, 900])
        return split

    @staticmethod
    def _wrap(layout: QHBoxLayout) -> QWidget:
        w = QWidget()
        layout.setContentsMargins(0, 0, 0, 0)
        w.setLayout(layout)
        return w

    def _load_source(self) -> None:
        path = Path(self.source.value())
        self._records = []
        self.record_pick.clear()
        if not path.is_file():
            self.score_controls.set_error(f"{path}: no such file" if str(path) not in ("", ".") else "")
            return
        from backend.readers import read_prm_solutions

        self._records, bad = read_prm_solutions(path)
        for i, r in enumerate(self._records):
            self.record_pick.addItem(f"{r.get('id', i + 1)}: {r['problem'][:50]}")
        skipped = f", {bad} unreadable lines skipped" if bad else ""
        self.score_controls.set_message(f"{len(self._records)} solutions loaded{skipped}")

    def _pick_record(self, i: int) -> None:
        if 0 <= i < len(self._records):
            r = self._records[i]
            self.problem.setPlainText(r["problem"])
            steps = r.get("steps")
            self.solution.setPlainText("\n".join(steps) if isinstance(steps, list) else str(r.get("solution", "")))
            self.score_form.set_values({"split": "line" if isinstance(steps, list) else "auto"})
            self.truth.setText(truth_text(r.get("label")))

    def _load_sample_into_form(self, s: dict) -> None:
        """A ProcessBench sample replaces the whole Steps form: problem, steps, PRM, threshold, truth."""
        self.problem.setPlainText(s.get("problem", ""))
        self.solution.setPlainText("\n".join(s["steps"]))
        self.prm_a.set_value(self.bench_prm.value())
        self.compare.setChecked(False)
        shared = {k: v for k, v in self.bench_form.values().items() if k in PRMParams.defaults()}
        self.score_form.set_values({**shared, "split": "line"})
        self.truth.setText(truth_text(s.get("label")))
        self.record_pick.blockSignals(True)
        self.record_pick.setCurrentIndex(-1)
        self.record_pick.blockSignals(False)

    def score_spec(self) -> JobSpec:
        """The ``prm.score`` spec of the Steps tab (ValueError naming what is missing or bad)."""
        problem, text = self.problem.toPlainText().strip(), self.solution.toPlainText().strip()
        if not problem or not text or not self.prm_a.value():
            raise ValueError("Enter a problem, a solution and a PRM first.")
        params = {**self.score_form.params().to_dict(), "prm": self.prm_a.value(),
                  "items": [{"problem": problem, "solution": text}], **self.score_engine.changes()}
        if self.compare.isChecked() and self.prm_b.value():
            params["prm_b"] = self.prm_b.value()
        return JobSpec(kind=SCORE, params=params, label=f"PRM steps: {problem[:30]}")

    def score(self) -> str | None:
        return self.submit_tracked(self.score_controls, self.score_spec)

    def show_steps(self, rec: dict, label: int | None = None) -> None:
        """Draw one scored record (``prm.score`` row or ProcessBench sample) as step cards."""
        self.col_a.show_steps(rec.get("prm", "PRM"), rec["steps"], rec.get("step_scores") or rec.get("scores", []),
                              rec.get("first_error", rec.get("predicted", -1)), rec.get("judgements"), label)
        b = rec.get("b")
        self.col_b.setVisible(b is not None)
        if b is not None:
            self.col_b.show_steps(b["prm"], rec["steps"], b["step_scores"], b["first_error"], b.get("judgements"),
                                  label)
        self.problem.setPlainText(rec.get("problem", ""))
        self.tabs.setCurrentIndex(0)

    # -- ProcessBench tab -----------------------------------------------------------------------
    def _build_bench_tab(self) -> QWidget:
        zoo = self.context.zoo_root()
        box = QGroupBox("ProcessBench")
        form = QFormLayout(box)
        self.bench_prm = ModelPicker(zoo, default="zoo:arith-prm", name_filter="prm")
        self.bench_data = PathPicker("file", "ProcessBench (*.jsonl *.json)", "ProcessBench JSONL")
        self.bench_data.set_value(_zoo_processbench(zoo))
        self.bench_form = ParamsForm(ProcessBenchParams, parent=self)
        self.bench_threshold = self.bench_form.editor("threshold")
        _name_auto(self.bench_form.editor("preset"))
        name_zero(self.bench_form, {"samples": "PRM's own", "max_new_tokens": "PRM's own", "limit": "all"})
        self.bench_controls = RunControls(self.context, start_text="Evaluate")
        self.bench_controls.start_requested.connect(self.run_bench)
        self.bench_btn, self.bench_status = self.bench_controls.start_button, self.bench_controls.status
        for name, w in (("PRM", self.bench_prm), ("Data", self.bench_data)):
            form.addRow(name, w)
        form.addRow(self.bench_form)
        self.bench_engine = EngineBox("critiques", device=self.context.device)
        form.addRow(self.bench_engine)
        self.bench_compute = ComputeBox()
        form.addRow(self.bench_compute)
        self.f1_table = DictTable()
        self.sweep_plot = CurvePlot("F1 against the threshold", "threshold", "F1 (%)")
        self.threshold_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#b00020", width=1, style=Qt.PenStyle.DashLine))
        self.sweep_plot.addItem(self.threshold_line)
        self.disagree = QListWidget()
        self.disagree.itemActivated.connect(self._open_sample)
        self.disagree.itemClicked.connect(self._open_sample)
        results = QSplitter(Qt.Orientation.Vertical)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.f1_table)
        top.addWidget(self.sweep_plot)
        top.setSizes([470, 560])
        results.addWidget(top)
        results.setSizes([480, 260])
        dl = QWidget()
        dlay = QVBoxLayout(dl)
        dlay.setContentsMargins(0, 0, 0, 0)
        dlay.addWidget(QLabel("Samples where the PRM and the label disagree (click to open the steps):"))
        dlay.addWidget(self.disagree)
        results.addWidget(dl)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(_settings_column(box, controls=self.bench_controls))
        split.addWidget(results)
        split.setStretchFactor(1, 1)
        split.setSizes([330, 930])
        return split

    def bench_spec(self) -> JobSpec:
        """The ``prm.processbench`` spec of its tab (ValueError naming what is missing or bad)."""
        data = self.bench_data.value()
        if not data or not self.bench_prm.value():
            raise ValueError("Choose a PRM and a ProcessBench file first.")
        params = {**self.bench_form.params().to_dict(), "prm": self.bench_prm.value(),
                  **self.bench_engine.changes(), **self.bench_compute.changes()}   # ValueError: a bad one
        return JobSpec(kind=BENCH, params=params, inputs={"data": data}, label=f"ProcessBench {Path(data).name}")

    def run_bench(self) -> str | None:
        return self.submit_tracked(self.bench_controls, self.bench_spec)

    def show_bench(self, r: dict) -> None:
        rows = [{"subset": k, "error acc": v["acc_error"], "correct acc": v["acc_correct"], "F1": v["f1"],
                 "n": v["n_error"] + v["n_correct"]} for k, v in r["subsets"].items()]
        rows.append({"subset": "average", "F1": r["average_f1"]})     # ProcessBench's: unweighted over subsets
        # F1 next to the subset: the figure that matters stays in view when the table is narrow
        self.f1_table.set_rows(rows, ["subset", "F1", "error acc", "correct acc", "n"], digits=3)
        self.f1_table.resizeColumnsToContents()
        self.sweep_plot.clear_curves()
        sw = r["sweep"]["rows"]
        xs = [row["threshold"] for row in sw]
        self.sweep_plot.set_curve("average", xs, [row["average_f1"] or 0 for row in sw])
        for name in r["subsets"]:
            self.sweep_plot.set_curve(name, xs, [row["subsets"].get(name) or 0 for row in sw], symbol=None, dashed=True)
        self.sweep_plot.setYRange(0, 100, padding=0.02)   # F1 in percent: never below 0 (all-zero curves too)
        self.threshold_line.setValue(r["threshold"])
        self._bench_samples = []
        path = Path(r.get("samples_file", ""))
        if path.is_file():
            from backend.readers import read_prm_bench_samples

            self._bench_samples = read_prm_bench_samples(path)
        else:
            self._bench_samples = r.get("samples", [])
        self.disagree.clear()
        for i, s in enumerate(self._bench_samples):
            if not s["match"]:
                lab = "none" if s["label"] == -1 else f"step {s['label'] + 1}"
                pred = "none" if s["predicted"] == -1 else f"step {s['predicted'] + 1}"
                item = QListWidgetItem(f"{s['id'] or i}  [{s['subset']}]  label: {lab} · PRM: {pred}")
                item.setData(Qt.ItemDataRole.UserRole, i)
                self.disagree.addItem(item)
        avg = r["average_f1"]
        self.bench_controls.report(f"{len(self._bench_samples)} samples, average F1 "
                                  f"{'n/a' if avg is None else f'{avg:.1f}'}; {self.disagree.count()} disagreements"
                                  + (f"; {len(r['errors'])} bad lines skipped (see log)" if r.get("errors") else ""))

    def _open_sample(self, item: QListWidgetItem) -> None:
        s = self._bench_samples[item.data(Qt.ItemDataRole.UserRole)]
        if "steps" in s:
            self._load_sample_into_form(s)
            self.show_steps({**s, "prm": f"{self.bench_prm.value()} (ProcessBench {s['id']})"}, label=s["label"])

    # -- runs ------------------------------------------------------------------------------------
    def restore_settings(self, run: RunRecord) -> None:
        """A run opened from the history puts its settings back into its own tab's form (absent
        settings were the defaults), and its PRM, data or solution into the pickers."""
        p = run.spec.params
        given = {k: v for k, v in p.items() if v is not None}
        if run.kind == BENCH:
            self.bench_form.set_values({**ProcessBenchParams.defaults(), **given})
            restore_widgets({"prm": self.bench_prm}, p)
            restore_widgets({"data": self.bench_data}, run.spec.inputs)
            self.bench_engine.set_values({**EngineParams.defaults(), **p})
            self.bench_compute.set_values({**ExecutorParams.defaults(), **p})
            return
        self.score_form.set_values({**PRMScoreParams.defaults(), **given})
        self.score_engine.set_values({**EngineParams.defaults(), **p})
        restore_widgets({"prm": self.prm_a}, p)
        self.compare.setChecked(bool(p.get("prm_b")))
        restore_widgets({"prm_b": self.prm_b}, p)
        items = p.get("items") or []
        if items:
            self.problem.setPlainText(str(items[0].get("problem", "")))
            self.solution.setPlainText(str(items[0].get("solution", "")))

    def show_run(self, run: RunRecord) -> None:
        r = run.result or {}
        if run.kind == SCORE and r.get("records"):
            self.show_steps(r["records"][0])
            self.score_controls.report(f"scored {r['n']} solution(s) with {', '.join(r['prms'])}")
        elif run.kind == BENCH and "subsets" in r:
            self.show_bench(r)
            self.tabs.setCurrentIndex(1)

    def on_run_failed(self, run: RunRecord) -> None:
        """The run's RunControls already show the reason (or "Cancelled")."""
