"""TTRL panel: train a policy on unlabeled prompts with majority-vote rewards and watch it learn.

Left: the policy, the unlabeled prompts, an optional labelled copy (monitoring only), a form
bound to ``backend.ttrl.config.TTRLConfig`` (the rarer settings under Advanced), the prompt
settings, and Start / Stop / Resume below them. Right: live curves (evaluation pass@1 and maj@N;
training majority ratio, reward, label accuracy; loss and KL), the latest step's rollouts
(one row per prompt; select one to see its samples with votes, rewards and advantages), and
a comparison of any two TTRL runs of the workspace.

Live data comes from the run's METRIC events (redrawn at most ~10 times a second) and from
the ``rollouts`` artifact, a JSON file the job writes after every step.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.panels.base import Panel, name_zero, register_panel, restore_widgets, scrollable
from app.widgets.jobs_dock import key_params
from app.widgets.params_form import ParamsForm
from app.widgets.pickers import ModelPicker, PathPicker
from app.widgets.plots import CurvePlot, accuracy_axis
from app.widgets.compute_box import ComputeBox
from app.widgets.prompt_box import PromptBox
from app.widgets.run_controls import RunControls
from app.widgets.tables import DictTable
from backend.generation.prompting import PromptParams
from backend.scale.params import ExecutorParams
from backend.jobs import JobSpec
from backend.ttrl.config import NOT_TTRL, TTRLConfig

if TYPE_CHECKING:
    from app.context import AppContext
    from backend.jobs import JobEvent
    from backend.workspace import RunRecord

KIND = "ttrl.train"
EVAL_CURVES = ("eval/pass@1", "eval/maj@N")
TRAIN_CURVES = ("majority_ratio", "reward_mean", "label_accuracy", "reward_accuracy")
LOSS_CURVES = ("loss", "kl")
COMPARE_METRICS = EVAL_CURVES + TRAIN_CURVES + ("train_pass@1", "loss", "kl", "no_answer", "response_tokens")


def out_dir_of(run: RunRecord) -> Path:
    """The TTRL output folder of a run (given by the user, or inside the run folder)."""
    if run.result and run.result.get("out"):
        return Path(run.result["out"])
    return Path(run.spec.inputs.get("out") or Path(run.run_dir) / "ttrl")


def read_history(out: Path) -> dict[str, list[tuple[float, float]]]:
    """Metric series of a TTRL output folder (all steps, across resumes; safe while it is written)."""
    from backend.readers import ttrl_metric_series

    return ttrl_metric_series(out)


@register_panel
class TTRLPanel(Panel):
    panel_id = "ttrl"
    title = "TTRL"
    description = "Reinforcement learning on unlabeled prompts with majority-vote rewards"
    kinds = (KIND,)
    order = 60

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._series: dict[str, list[tuple[float, float]]] = {}
        self._dirty = False
        self._active: str | None = None
        self._last_run = None
        self._groups: list[dict] = []
        self._build_setup()
        self._build_views()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self._setup_column())
        split.addWidget(self.views)
        split.setStretchFactor(1, 1)
        split.setSizes([330, 900])
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        self._timer = QTimer(self)
        self._timer.setInterval(100)  # redraw at most ~10 Hz
        self._timer.timeout.connect(self._redraw)
        self._timer.start()
        self.refresh_runs()

    # -- building ---------------------------------------------------------------------------
    def _build_setup(self) -> None:
        self.setup_box = QGroupBox("Setup")
        zoo = self.context.zoo_root()
        self.policy = ModelPicker(zoo, default="zoo:arith-policy", name_filter="policy")
        self.prompts = PathPicker("file", "Prompts (*.jsonl *.json *.txt)", "unlabeled prompts (.jsonl)")
        self.labelled = PathPicker("file", "Prompts (*.jsonl *.json)", "optional: labelled copy, monitoring only")
        for picker, key in ((self.prompts, "unlabel"), (self.labelled, "label")):
            found = [p for p in sorted((zoo / "data").glob("*.jsonl"))
                     if key in p.name and (key == "unlabel" or "unlabel" not in p.name)] \
                if (zoo / "data").is_dir() else []
            if found:
                picker.set_value(str(found[0]))
        # every setting (default, range, tooltip) comes from TTRLConfig; the rarely changed ones are
        # in its collapsed Advanced group
        self.form = ParamsForm(TTRLConfig, parent=self)
        name_zero(self.form, {"max_new_tokens": "auto", "eval_every": "start and end", "eval_limit": "all"})
        self.steps, self.per_step, self.votes, self.train_n = (
            self.form.editor(n) for n in ("steps", "prompts_per_step", "n_votes", "n_train"))
        self.lr, self.kl, self.eval_every, self.eval_n = (
            self.form.editor(n) for n in ("lr", "kl_coef", "eval_every", "eval_n"))
        self.controls = RunControls(self.context, start_text="Start")
        self.controls.start_requested.connect(self.start)
        self.controls.set_message("Choose a policy and an unlabeled prompt file, then Start.")
        self.start_btn, self.stop_btn, self.status = (self.controls.start_button, self.controls.stop_button,
                                                      self.controls.status)
        self.stop_btn.setToolTip("stop after the current step; a checkpoint is kept so the run can resume")
        self.resume_btn = QPushButton("Resume")
        self.resume_btn.setToolTip("continue the shown run from its latest checkpoint, up to 'Steps'")
        self.resume_btn.clicked.connect(self.resume)
        self.controls.layout().itemAt(0).layout().insertWidget(1, self.resume_btn)
        self.controls.all_finished.connect(lambda: self.resume_btn.setEnabled(True))
        form = QFormLayout()
        form.addRow("Policy", self.policy)
        form.addRow("Prompts", self.prompts)
        form.addRow("Labels", self.labelled)
        note = QLabel("Labels, when given, only measure: label accuracy, pass@1, maj@N. They never reach the loss.")
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(mid);")
        self.prompt_box = PromptBox(exclude=NOT_TTRL)
        self.compute = ComputeBox("sampling")   # shards rollouts and the periodic evaluation
        box = QVBoxLayout(self.setup_box)
        box.addLayout(form)
        box.addWidget(self.form)
        box.addWidget(self.prompt_box)
        box.addWidget(self.compute)
        box.addWidget(note)
        box.addStretch(1)

    def _setup_column(self) -> QWidget:
        """The settings scroll; Start / Resume / Stop and the status stay in view below them."""
        column = QWidget()
        lay = QVBoxLayout(column)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(scrollable(self.setup_box), 1)
        lay.addWidget(self.controls)
        return column

    def _build_views(self) -> None:
        self.views = QTabWidget()
        live = QWidget()
        self.eval_plot = CurvePlot("Evaluation (labelled set)", "step", "accuracy")
        self.train_plot = CurvePlot("Training rollouts", "step", "")
        self.loss_plot = CurvePlot("Loss and KL", "step", "")
        accuracy_axis(self.eval_plot)  # rates: a fixed 0-1 scale so small moves are not magnified
        self.train_plot.setYRange(0, 1.02, padding=0)
        self.smoothing = QDoubleSpinBox()
        self.smoothing.setRange(0.0, 0.99)
        self.smoothing.setSingleStep(0.1)
        self.smoothing.setValue(0.6)
        self.smoothing.setToolTip("exponential moving average of the training curves (0 = raw); the raw values "
                                  "stay faint behind the smoothed line")
        self.smoothing.valueChanged.connect(self._set_smoothing)
        self._set_smoothing(self.smoothing.value())
        smooth_row = QHBoxLayout()
        smooth_row.addStretch(1)
        smooth_row.addWidget(QLabel("Smoothing (EMA)"))
        smooth_row.addWidget(self.smoothing)
        plots = QHBoxLayout()
        for p in (self.eval_plot, self.train_plot, self.loss_plot):
            plots.addWidget(p)
        self.rollout_title = QLabel("Latest rollouts: none yet")
        self.groups_table = DictTable()
        self.groups_table.itemSelectionChanged.connect(self._show_samples)
        self.samples_table = DictTable()
        for table in (self.groups_table, self.samples_table):
            table.setWordWrap(False)
        tables = QSplitter(Qt.Orientation.Horizontal)
        tables.addWidget(self.groups_table)
        tables.addWidget(self.samples_table)
        tables.setSizes([480, 520])
        lv = QVBoxLayout(live)
        lv.addLayout(smooth_row)
        lv.addLayout(plots, 3)
        lv.addWidget(self.rollout_title)
        lv.addWidget(tables, 2)
        self.views.addTab(live, "Live")

        compare = QWidget()
        self.run_a, self.run_b, self.compare_metric = QComboBox(), QComboBox(), QComboBox()
        self.compare_metric.addItems(COMPARE_METRICS)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh_runs)
        go = QPushButton("Compare")
        go.clicked.connect(self.compare)
        row = QHBoxLayout()
        for label, w in (("Run A", self.run_a), ("Run B", self.run_b), ("Metric", self.compare_metric)):
            row.addWidget(QLabel(label))
            row.addWidget(w, 1)
        row.addWidget(refresh)
        row.addWidget(go)
        self.compare_plot = CurvePlot("Compare runs", "step", "")
        self.compare_info = QLabel("Pick two runs and a metric, then Compare.")
        self.compare_info.setObjectName("ttrl_compare_info")
        self.compare_info.setWordWrap(True)
        self.compare_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        cv = QVBoxLayout(compare)
        cv.addLayout(row)
        cv.addWidget(self.compare_info)
        cv.addWidget(self.compare_plot, 1)
        self.views.addTab(compare, "Compare runs")

    def _set_smoothing(self, weight: float) -> None:
        for plot in (self.train_plot, self.loss_plot):
            plot.set_smoothing(weight)

    # -- actions ----------------------------------------------------------------------------
    def spec(self) -> JobSpec:
        """The JobSpec the current controls describe (raises ValueError naming a bad setting)."""
        policy, prompts, labels = self.policy.value(), self.prompts.value(), self.labelled.value()
        if not policy or not prompts:
            raise ValueError("Choose a policy and an unlabeled prompt file first.")
        inputs = {"policy": policy, "prompts": prompts}
        if labels:
            inputs["eval"] = labels
        params = {**self.form.params().to_dict(), **self.prompt_box.changes(), **self.compute.changes()}
        return JobSpec(KIND, params=params, inputs=inputs, label=f"ttrl {Path(prompts).stem}")

    def start(self) -> str | None:
        try:
            spec = self.spec()
        except ValueError as exc:
            self.controls.set_error(str(exc))
            return None
        return self._submit(spec, {})

    def resume(self) -> str | None:
        run = self._last_run
        if run is None:
            self.controls.set_error("Open a TTRL run (from the history, or start one) to resume it.")
            return None
        out = out_dir_of(run)
        try:
            where = self.compute.changes()        # where the periodic evaluation runs may change
        except ValueError as exc:
            self.controls.set_error(str(exc))
            return None
        spec = JobSpec(KIND, params={"resume": True, "steps": self.steps.value(), **where}, inputs={"out": str(out)},
                       label=f"ttrl resume {run.id[-6:]}")
        return self._submit(spec, read_history(out))

    def stop(self) -> None:
        self.controls.stop()

    def _submit(self, spec: JobSpec, history: dict) -> str:
        self._series = {k: list(v) for k, v in history.items()}
        self._groups = []
        self.groups_table.set_rows([])
        self.samples_table.set_rows([])
        self._dirty = True
        self._active = self.submit(spec)
        self.controls.track(self._active)  # progress, elapsed, ETA, stop and the failure reason
        self.resume_btn.setEnabled(False)
        return self._active

    def restore_settings(self, run: RunRecord) -> None:
        """A run opened from the history puts its settings back (absent ones were the defaults; a
        resumed run's are those of the run it continued, read from its output folder)."""
        p = dict(run.spec.params)
        if p.pop("resume", False):
            from backend.ttrl.checkpoint import read_run_file

            try:
                stored = read_run_file(out_dir_of(run))
                p = {**stored.get("config", {}), **(stored.get("prompt_settings") or {}), **p}
            except (OSError, ValueError):
                pass  # the folder is gone: only what the spec says
        self.form.set_values({**TTRLConfig.defaults(), **{k: v for k, v in p.items() if v is not None}})
        self.prompt_box.set_values({**PromptParams.defaults(), **p})
        self.compute.set_values({**ExecutorParams.defaults(), **p})
        restore_widgets({"policy": self.policy, "prompts": self.prompts, "eval": self.labelled}, run.spec.inputs)
        self._last_run = run

    # -- live events ------------------------------------------------------------------------
    def on_event(self, event: JobEvent) -> None:
        if event.run_id != self._active:
            return
        d = event.data
        if event.type == "metric":
            self._series.setdefault(d["name"], []).append((d.get("step"), d["value"]))
            self._dirty = True
        elif event.type == "artifact" and d.get("name") == "rollouts":
            self._load_rollouts(Path(d["path"]))
        elif event.type == "finished":
            self._last_run = self.context.workspace.get_run(event.run_id)
            self.refresh_runs()

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        for plot, names in ((self.eval_plot, EVAL_CURVES), (self.train_plot, TRAIN_CURVES),
                            (self.loss_plot, LOSS_CURVES)):
            for name in names:
                pts = [(s, v) for s, v in self._series.get(name, []) if s is not None]
                if pts:
                    plot.set_curve(name.replace("eval/", ""), [s for s, _ in pts], [v for _, v in pts],
                                   symbol="o" if plot is self.eval_plot else None)

    def _load_rollouts(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            self.rollout_title.setText(f"Cannot read rollouts {path}: {exc}")
            return
        self._groups = data.get("groups", [])
        rows = []
        for g in self._groups:
            answers: dict[str, int] = {}
            for s in g["samples"]:
                key = s["answer"] if s["answer"] is not None else "∅"
                answers[key] = answers.get(key, 0) + 1
            top = ", ".join(f"{a}×{c}" for a, c in sorted(answers.items(), key=lambda kv: -kv[1])[:4])
            row = {"problem": g["problem"], "label": g["label"] if g["label"] is not None else "— (no answer)",
                   "majority": g["majority_ratio"], "answers (votes)": top}
            if g.get("truth") is not None:  # monitoring only: shown, never trained on
                row = {**row, "truth": g["truth"], "label ok": "✓" if g.get("label_correct") else "✗"}
            rows.append(row)
        sel = self.groups_table.selectionModel().selectedRows() if self.groups_table.selectionModel() else []
        keep = sel[0].row() if sel else 0  # the row the user is reading, in the new step
        self.groups_table.set_rows(rows)
        self.rollout_title.setText(f"Rollouts of step {data.get('step')}: one row per prompt — "
                                   "select one for its samples")
        if rows:
            self.groups_table.selectRow(min(keep, len(rows) - 1))
        # the selection may not change when the rows do, so no signal: show the new samples here
        self._show_samples()

    def _show_samples(self) -> None:
        sel = self.groups_table.selectionModel().selectedRows() if self.groups_table.selectionModel() else []
        if not sel:
            self.samples_table.set_rows([])
            return
        problem = self.groups_table.cell_text(sel[0].row(), 0)
        group = next((g for g in self._groups if g["problem"] == problem), None)
        if group is None:
            return
        rows = [{"#": i, "answer": s["answer"] if s["answer"] is not None else "∅", "votes": s["votes"],
                 "reward": s["reward"], "advantage": s["advantage"] if s["trained"] else "not trained",
                 "text": s["text"].replace("\n", " ⏎ ")} for i, s in enumerate(group["samples"])]
        self.samples_table.set_rows(rows)

    # -- finished runs and comparison -------------------------------------------------------
    def show_run(self, run: RunRecord) -> None:
        self._last_run = run
        out = out_dir_of(run)
        series = read_history(out) or {k: list(v) for k, v in self.context.workspace.metrics(run.id).items()}
        self._series = series
        self._dirty = True
        self._redraw()
        path = run.artifacts.get("rollouts")
        if path and Path(path).is_file():
            self._load_rollouts(Path(path))
        res = run.result or {}
        start, end = res.get("eval_start") or {}, res.get("eval_end") or {}
        msg = f"Run {run.id}: {res.get('steps', '?')} steps; model in {res.get('model', out)}."
        if start and end:
            msg += (f" pass@1 {start['pass@1']:.3f} → {end['pass@1']:.3f}, "
                    f"maj@N {start['maj@N']:.3f} → {end['maj@N']:.3f}.")
        self.controls.report(msg)

    def on_run_failed(self, run: RunRecord) -> None:
        self._last_run = run  # Resume continues it from its last checkpoint

    def refresh_runs(self) -> None:
        """Fill the A/B pickers; B starts on a different run than A (or on none), never the same."""
        runs = self.context.workspace.list_runs(kind=KIND, limit=200)
        for combo in (self.run_a, self.run_b):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            if combo is self.run_b:
                combo.addItem("— none —", None)
            for r in runs:
                combo.addItem(f"{r.label or r.id} · {r.status} · {r.id[-6:]}", r.id)
            idx = combo.findData(current) if current else -1
            combo.setCurrentIndex(idx if idx >= 0 else (min(2, combo.count() - 1) if combo is self.run_b else 0))
            combo.blockSignals(False)
        if self.run_b.currentData() is not None and self.run_b.currentData() == self.run_a.currentData():
            self.run_b.setCurrentIndex(0)

    def compare(self) -> None:
        metric = self.compare_metric.currentText()
        a, b = self.run_a.currentData(), self.run_b.currentData()
        self.compare_plot.clear_curves()
        self.compare_plot.setTitle(f"Compare runs: {metric}")
        if a is not None and a == b:
            self.compare_info.setText("Run A and run B are the same run: pick two different runs.")
            return
        lines = []
        for tag, run_id in (("A", a), ("B", b)):
            if not run_id:
                continue
            pts = [(s, v) for s, v in self.context.workspace.metrics(run_id).get(metric, []) if s is not None]
            run = self.context.workspace.get_run(run_id)
            name = f"{tag}: {run.label or run.kind} ({run_id[-6:]})"
            self.compare_plot.set_curve(name, [s for s, _ in pts], [v for _, v in pts])
            lines.append(f"<b>{tag}</b> = {run_id} · {run.status} · {key_params(run.spec.params, limit=6)}"
                         + ("" if pts else f" · <i>no '{metric}' recorded</i>"))
        self.compare_info.setText("<br>".join(lines))
