"""Model merging panel: T-Switch / Auto-Switch and the mergekit family over one base model.

Left: the base and the fine-tunes (zoo names or folders), the method and its parameters, YAML
import/export, the run controls (Run / Stop, progress, the reason of a failure) and the export of the
result. The settings form is bound to ``backend.merging.params.MergeStudyParams``. Right: the per-task accuracy table
and bar chart (base, each fine-tune, the merge or oracle T-Switch), the storage table, a
per-layer heatmap (density kept per task, sign conflicts between task vectors) and an
Auto-Switch box that routes a typed prompt over the T-Switch result and shows the task weights
and the answer. The panel only builds job specs and draws results; all work is in
``backend.merging``.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.panels.base import Panel, register_panel, scrollable
from app.widgets.compute_box import ComputeBox
from app.widgets.params_form import ParamsForm
from app.widgets.pickers import ModelPicker
from app.widgets.plots import GroupedBarChart, Heatmap, accuracy_axis
from app.widgets.run_controls import RunControls
from app.widgets.tables import DictTable
from backend.jobs import JobSpec
from backend.merging.params import TSWITCH, AutoSwitchParams, MergeStudyParams
from backend.merging.registry import METHODS as TABLE
from backend.scale.params import executor_params

if TYPE_CHECKING:
    from app.context import AppContext
    from backend.workspace import RunRecord

STUDY, AUTO = "merging.study", "merging.autoswitch"
METHODS = {TSWITCH: "T-Switch (binarized switches)", **{m.name: m.title for m in TABLE.values()}}
ZOO_FTS = ("zoo:arith-ft-add", "zoo:arith-ft-sub", "zoo:arith-ft-mul", "zoo:arith-ft-upper")


def _task_of(model: str) -> str:
    from backend.models.zoo import finetune_task

    return finetune_task(model) or Path(model[4:] if model.startswith("zoo:") else model).name


@register_panel
class MergingPanel(Panel):
    panel_id = "merging"
    title = "Model merging"
    description = "T-Switch, Auto-Switch, TIES, DARE and task arithmetic over one base model"
    kinds = (STUDY, AUTO)
    order = 55

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._run = None
        zoo = self.context.zoo_root()
        self.base = ModelPicker(zoo, default="zoo:arith-base", name_filter="base")
        self.ft_pick = ModelPicker(zoo, default="zoo:arith-ft-add", name_filter="ft")
        for picker in (self.base, self.ft_pick):  # show the start of long names, not their tail
            if picker.combo.lineEdit() is not None:
                picker.combo.lineEdit().setCursorPosition(0)
        self.fts = QListWidget()
        self.fts.addItems(list(ZOO_FTS))
        self.fts.setMaximumHeight(110)
        add, remove = QPushButton("Add"), QPushButton("Remove")
        add.clicked.connect(self._add_ft)
        remove.clicked.connect(lambda: [self.fts.takeItem(self.fts.row(i)) for i in self.fts.selectedItems()])
        # every setting (its default, range and tooltip) comes from MergeStudyParams
        self.form = ParamsForm(MergeStudyParams, parent=self)
        self.method = self.form.editor("method")
        for i in range(self.method.count()):
            self.method.setItemText(i, METHODS.get(self.method.itemData(i), self.method.itemText(i)))
        self.drop, self.knob = self.form.editor("drop"), self.form.editor("knob")
        self.weight, self.density = self.form.editor("weight"), self.form.editor("density")
        self.lam, self.t, self.limit = self.form.editor("lam"), self.form.editor("t"), self.form.editor("limit")
        self.method.currentIndexChanged.connect(self._method_changed)
        self.controls = RunControls(context, start_text="Run", parent=self)
        self.controls.start_requested.connect(self.start)
        self.run_btn, self.status = self.controls.start_button, self.controls.status
        self.controls.set_message("Pick a base and its fine-tunes, a method, then Run.")
        self.open_yaml = QPushButton("Open YAML…")
        self.open_yaml.clicked.connect(self._open_yaml)
        self.save_yaml = QPushButton("Export YAML…")
        self.save_yaml.clicked.connect(self._save_yaml)
        self.export_btn = QPushButton("Export result folder…")
        self.export_btn.setEnabled(False)
        self.export_btn.clicked.connect(self._export)

        models = QGroupBox("Models")
        form = QFormLayout(models)
        form.addRow("Base", self.base)
        form.addRow("Fine-tune", self.ft_pick)
        ftrow = QHBoxLayout()
        ftrow.addWidget(add)
        ftrow.addWidget(remove)
        form.addRow("", ftrow)
        form.addRow("Fine-tunes", self.fts)
        method = QGroupBox("Method")
        QVBoxLayout(method).addWidget(self.form)
        self.compute = ComputeBox("evaluation")   # shards the evaluations of base, fine-tunes and result
        settings = QWidget()                  # scrolls at 1280x720; the run controls stay in view below
        sv = QVBoxLayout(settings)
        sv.setContentsMargins(0, 0, 0, 0)
        sv.addWidget(models)
        sv.addWidget(method)
        sv.addWidget(self.compute)
        row = QHBoxLayout()
        for b in (self.open_yaml, self.save_yaml):
            row.addWidget(b)
        sv.addLayout(row)
        sv.addWidget(self.export_btn)
        sv.addWidget(self._build_autoswitch())
        sv.addStretch(1)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(scrollable(settings, 360), 1)
        lv.addWidget(self.controls)
        left.setMaximumWidth(430)

        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.acc_table = DictTable()
        self.chart = GroupedBarChart("Per-task accuracy", "exact match")
        self.storage = DictTable()
        self.heatmap = Heatmap("per layer", colormap="viridis")
        self.heatmap.plot.getAxis("left").setWidth(140)  # room for tensor names
        self.chart.plotItem.legend.setOffset((-10, 10))  # top right, above the bars (y range to 1.5)
        acc = QSplitter(Qt.Orientation.Vertical)
        acc.addWidget(self.chart)
        acc.addWidget(self.acc_table)
        acc.setSizes([380, 200])
        self.tabs = QTabWidget()
        self.tabs.addTab(acc, "Accuracy")
        self.tabs.addTab(self.storage, "Storage")
        self.tabs.addTab(self.heatmap, "Per layer")
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.addWidget(self.summary)
        rv.addWidget(self.tabs, 1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        QVBoxLayout(self).addWidget(split)
        self._method_changed()

    def _build_autoswitch(self) -> QWidget:
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 8, 0, 0)
        v.addWidget(QLabel("<b>Auto-Switch</b> (after a T-Switch run): type a prompt"))
        self.prompt = QLineEdit("add(23,41)=")
        self.hard = QCheckBox("hard (one task)")
        self.route_btn = QPushButton("Route")
        self.route_btn.setEnabled(False)
        self.route_btn.clicked.connect(self.route)
        row = QHBoxLayout()
        row.addWidget(self.prompt, 1)
        row.addWidget(self.hard)
        row.addWidget(self.route_btn)
        v.addLayout(row)
        self.route_out = QLabel("")
        self.route_out.setWordWrap(True)
        self.route_out.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        v.addWidget(self.route_out)
        return box

    # -- inputs ------------------------------------------------------------------------------
    def _add_ft(self) -> None:
        v = self.ft_pick.value()
        if v and v not in self.finetunes():
            self.fts.addItem(v)

    def finetunes(self) -> list[str]:
        return [self.fts.item(i).text() for i in range(self.fts.count())]

    def _method_changed(self) -> None:
        used = MergeStudyParams.used_by(self.method.currentData())
        for name in ("drop", "knob", "weight", "density", "lam", "t"):
            self.form.editor(name).setEnabled(name in used)

    def settings(self) -> MergeStudyParams:
        """The form's settings, validated (ValueError naming the setting)."""
        return self.form.params()

    def params(self) -> dict:
        """What the chosen method reads, by mergekit's names (see ``MergeStudyParams.method_params``)."""
        return self.settings().method_params()

    def spec(self) -> JobSpec:
        fts = {}
        for f in self.finetunes():
            fts[_task_of(f)] = f
        p = self.settings()
        return JobSpec(STUDY, params={**p.to_dict(), **self.compute.changes()},
                       inputs={"base": self.base.value(), "finetunes": fts},
                       label=f"{p.method} of {len(fts)} fine-tunes")

    def config_dict(self) -> dict:
        """The current settings as a mergekit config (T-Switch has no mergekit form)."""
        m = self.method.currentData()
        if m == TSWITCH:
            raise ValueError("T-Switch has no mergekit YAML form; choose a static merge method to export")
        p = self.params()
        per = {k: p[k] for k in ("weight", "density") if k in p}
        glob = {k: p[k] for k in ("lambda", "t") if k in p}
        d = {"merge_method": m, "base_model": self.base.value(),
             "models": [{"model": f, "parameters": per} for f in self.finetunes()]}
        if glob:
            d["parameters"] = glob
        return d

    def load_config(self, path: str) -> None:
        from backend.merging.config import load_config

        try:
            cfg = load_config(path)
        except (ValueError, OSError) as exc:
            self.controls.set_error(str(exc))
            return
        values: dict = {"method": cfg.merge_method}
        if cfg.base_model:
            self.base.set_value(cfg.base_model)
        self.fts.clear()
        self.fts.addItems([m.model for m in cfg.models])
        first = cfg.models[0].parameters
        for key in ("weight", "density"):
            v = first.get(key, cfg.parameters.get(key))
            if isinstance(v, (int, float)):
                values[key] = float(v)
        for key, name in (("lambda", "lam"), ("t", "t")):
            if isinstance(cfg.parameters.get(key), (int, float)):
                values[name] = float(cfg.parameters[key])
        self.form.set_values(values)
        self._method_changed()
        self.controls.set_message(f"Loaded {path}")

    def _open_yaml(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a mergekit config", "", "YAML (*.yml *.yaml)")
        if path:
            self.load_config(path)

    def save_config(self, path: str) -> None:
        from backend.merging.config import dump_config, parse_config
        from backend.workspace.atomic import atomic_write_text

        try:
            atomic_write_text(path, dump_config(parse_config(self.config_dict())))
        except ValueError as exc:
            self.controls.set_error(str(exc))
            return
        self.controls.set_message(f"Config written to {path}")

    def _save_yaml(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the merge as a mergekit config", "merge.yml",
                                              "YAML (*.yml *.yaml)")
        if path:
            self.save_config(path)

    # -- jobs --------------------------------------------------------------------------------
    def start(self) -> str | None:
        if not self.finetunes():
            self.controls.set_error("Add at least one fine-tune.")
            return None
        return self.submit_tracked(self.controls, self.spec)

    def route(self) -> str | None:
        if self._run is None or self._run.result.get("method") != TSWITCH:
            return None
        r = self._run.result
        try:
            p = AutoSwitchParams.from_params({"prompt": self.prompt.text(), "hard": self.hard.isChecked()})
        except ValueError as exc:
            self.route_out.setText(f"<span style='color:#c0392b'>{exc}</span>")
            return None
        spec = JobSpec(AUTO, params=p.to_dict(), inputs={"base": r["base"], "tswitch": r["out"]},
                       label=f"auto-switch {p.prompt!r}")
        self.route_out.setText("Routing…")
        return self.submit(spec)

    def on_run_failed(self, run: RunRecord) -> None:
        if run.spec.kind == AUTO:  # the study's failures are shown by the run controls
            last = (run.error or "").strip().splitlines()
            msg = last[-1] if last else run.status
            self.route_out.setText(f"<span style='color:#c0392b'>Run {run.status}: {msg}</span>")

    def _export(self) -> None:
        dest, _ = QFileDialog.getSaveFileName(self, "New folder to create")
        if dest:
            self.export_to(dest)

    def export_to(self, dest: str) -> Path:
        """Copy the shown result (merged model or switch folder) to ``dest``, atomically."""
        from backend.workspace.atomic import atomic_dir

        with atomic_dir(dest) as tmp:
            shutil.copytree(self._run.result["out"], tmp, dirs_exist_ok=True)
        self.controls.set_message(f"Copied to {dest}")
        return Path(dest)

    # -- drawing -----------------------------------------------------------------------------
    def show_run(self, run: RunRecord) -> None:
        if run.spec.kind == AUTO:
            r = run.result
            w = ", ".join(f"{t} {v:.2f}" for t, v in sorted(r["weights"].items(), key=lambda kv: -kv[1]))
            self.route_out.setText(f"weights: {w}<br>answer: <b>{r['answer'] or '(empty)'}</b>")
            return
        self._run = run
        self.controls.report(f"Showing run {run.id}.")
        r = run.result
        try:  # a run opened from the history puts its settings back in the form
            ex, rest = executor_params(dict(run.spec.params))
            self.form.set_values(MergeStudyParams.from_record(rest).to_dict())
            self.compute.set_values(ex.to_dict())
            self._method_changed()
        except ValueError:
            pass  # a record from an older version with settings this form no longer has
        if run.spec.inputs.get("base"):    # and its models: the list beside the chart is what was merged
            self.base.set_value(str(run.spec.inputs["base"]))
            self.fts.clear()
            self.fts.addItems([str(m) for m in (run.spec.inputs.get("finetunes") or {}).values()])
        tasks = r.get("tasks") or []
        acc = r.get("accuracy") or {}
        rows = []
        for label, accs in acc.items():
            row = {"model": label, **{t: accs.get(t) for t in tasks}}
            vals = [v for v in accs.values() if v is not None]
            row["mean"] = sum(vals) / len(vals) if vals else None
            rows.append(row)
        self.acc_table.set_rows(rows, digits=3)
        self.chart.set_data(tasks, {label: [accs.get(t, 0.0) or 0.0 for t in tasks] for label, accs in acc.items()})
        accuracy_axis(self.chart, what="exact match")  # one accuracy convention: 0-1
        self.storage.set_rows(r.get("storage") or [], digits=4)
        lay = r.get("layers") or {}
        if lay.get("matrix"):
            short = [n.replace("model.", "").replace(".weight", "").replace("layers.", "L") for n in lay["rows"]]
            self.heatmap.set_matrix(np.array(lay["matrix"]), row_labels=short, col_labels=lay["cols"], levels=(0, 1))
            self.heatmap.plot.setTitle("share kept per task vector · share of entries with conflicting signs")
        merged = [k for k in acc if k not in ("base",) and not k.startswith("ft-")]
        mean = lambda d: sum(d.values()) / len(d) if d else float("nan")  # noqa: E731
        settings = ", ".join(f"{'r' if k == 'drop' else k} = {v:g}" if isinstance(v, (int, float)) else f"{k} per {v}"
                             for k, v in (r.get("params") or {}).items()) or "defaults"
        parts = [f"<b>{METHODS.get(r['method'], r['method'])}</b> ({settings})"]
        for k in merged:
            parts.append(f"{k}: mean accuracy {mean(acc[k]):.3f}")
        fts = [mean(v) for k, v in acc.items() if k.startswith("ft-")]
        if fts:
            own = [acc[f"ft-{t}"].get(t) for t in tasks if f"ft-{t}" in acc]
            parts.append(f"fine-tunes on their own task: mean {np.mean([o for o in own if o is not None]):.3f}")
        st = r.get("storage") or []
        if r["method"] == TSWITCH and st:
            share = np.mean([s["% of fp32"] for s in st])
            parts.append(f"switches {share:.2f}% of fp32 each (measured from the files)")
        self.summary.setText(" · ".join(parts))
        self.export_btn.setEnabled(True)
        self.route_btn.setEnabled(r["method"] == TSWITCH)
