"""Model merging panel: T-Switch / Auto-Switch and the mergekit family over one base model.

Left: the base and the fine-tunes (zoo names or folders), the method and its parameters, YAML
import/export, Run / Cancel and the export of the result. Right: the per-task accuracy table
and bar chart (base, each fine-tune, the merge or oracle T-Switch), the storage table, a
per-layer heatmap (density kept per task, sign conflicts between task vectors) and an
Auto-Switch box that routes a typed prompt over the T-Switch result and shows the task weights
and the answer. The panel only builds job specs and draws results; all work is in
``backend.merging``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
    QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget,
)

from app.panels.base import Panel, register_panel
from app.widgets.pickers import ModelPicker
from app.widgets.plots import GroupedBarChart, Heatmap, accuracy_axis
from app.widgets.tables import DictTable
from backend.jobs import JobSpec

STUDY, AUTO = "merging.study", "merging.autoswitch"
METHODS = {"tswitch": "T-Switch (binarized switches)", "task_arithmetic": "Task arithmetic", "ties": "TIES",
           "dare_ties": "DARE + TIES", "dare_linear": "DARE (linear)", "breadcrumbs": "Model breadcrumbs",
           "linear": "Linear (weighted average)", "model_stock": "Model Stock", "slerp": "SLERP (base ↔ one model)"}
TASK_VECTOR = ("task_arithmetic", "ties", "dare_ties", "dare_linear", "breadcrumbs")
ZOO_FTS = ("zoo:arith-ft-add", "zoo:arith-ft-sub", "zoo:arith-ft-mul", "zoo:arith-ft-upper")


def _spin(lo: float, hi: float, value: float, step: float, tip: str) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setDecimals(2)
    s.setValue(value)
    s.setToolTip(tip)
    return s


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

    def __init__(self, context, parent=None):
        super().__init__(context, parent)
        self._run = None
        self._active: str | None = None
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
        self.method = QComboBox()
        for k, v in METHODS.items():
            self.method.addItem(v, k)
        self.method.currentIndexChanged.connect(self._method_changed)
        self.drop = _spin(0.0, 0.99, 0.6, 0.05, "T-Switch drop ratio r: share of each sign's entries dropped")
        self.weight = _spin(0.0, 4.0, 1.0, 0.1, "per-model weight (mergekit 'weight')")
        self.density = _spin(0.01, 1.0, 0.5, 0.05, "share of each task vector kept (mergekit 'density')")
        self.lam = _spin(0.0, 4.0, 1.0, 0.1, "scale of the merged task vector (mergekit 'lambda')")
        self.t = _spin(0.0, 1.0, 0.5, 0.05, "SLERP position: 0 = base, 1 = the fine-tune (mergekit 't')")
        self.row_knob = QCheckBox("one knob per row (not the paper's)")
        self.row_knob.setToolTip("T-Switch option: same mask and signs, one scale per matrix row instead of per "
                                 "tensor (32 bits more per row, counted in the storage table)")
        self.limit = _spin(4, 1000, 60, 4, "examples per task for the accuracy table")
        self.limit.setDecimals(0)
        self.run_btn = QPushButton("Run")
        self.run_btn.clicked.connect(self.start)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        self.cancel_btn.clicked.connect(lambda: self._active and self.cancel(self._active))
        self.open_yaml = QPushButton("Open YAML…")
        self.open_yaml.clicked.connect(self._open_yaml)
        self.save_yaml = QPushButton("Export YAML…")
        self.save_yaml.clicked.connect(self._save_yaml)
        self.export_btn = QPushButton("Export result folder…")
        self.export_btn.setEnabled(False)
        self.export_btn.clicked.connect(self._export)
        self.status = QLabel("Pick a base and its fine-tunes, a method, then Run.")
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Base", self.base)
        form.addRow("Fine-tune", self.ft_pick)
        ftrow = QHBoxLayout()
        ftrow.addWidget(add)
        ftrow.addWidget(remove)
        form.addRow("", ftrow)
        form.addRow("Fine-tunes", self.fts)
        form.addRow("Method", self.method)
        form.addRow("Drop r", self.drop)
        form.addRow("", self.row_knob)
        form.addRow("Weight", self.weight)
        form.addRow("Density", self.density)
        form.addRow("Lambda", self.lam)
        form.addRow("t (SLERP)", self.t)
        form.addRow("Eval examples", self.limit)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addLayout(form)
        for pair in ((self.run_btn, self.cancel_btn), (self.open_yaml, self.save_yaml)):
            row = QHBoxLayout()
            for b in pair:
                row.addWidget(b)
            lv.addLayout(row)
        lv.addWidget(self.export_btn)
        lv.addWidget(self.status)
        lv.addWidget(self._build_autoswitch())
        lv.addStretch(1)
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
        m = self.method.currentData()
        self.drop.setEnabled(m == "tswitch")
        self.row_knob.setEnabled(m == "tswitch")
        self.weight.setEnabled(m in TASK_VECTOR or m == "linear")
        self.lam.setEnabled(m in TASK_VECTOR)
        self.t.setEnabled(m == "slerp")
        self.density.setEnabled(m in ("ties", "dare_ties", "dare_linear", "breadcrumbs"))

    def params(self) -> dict:
        m = self.method.currentData()
        if m == "tswitch":
            return {"drop": self.drop.value(), **({"knob": "row"} if self.row_knob.isChecked() else {})}
        if m == "slerp":
            return {"t": self.t.value()}
        if m == "model_stock":
            return {}
        p = {"weight": self.weight.value()}
        if m != "linear":
            p["lambda"] = self.lam.value()
        if self.density.isEnabled():
            p["density"] = self.density.value()
        return p

    def spec(self) -> JobSpec:
        fts = {}
        for f in self.finetunes():
            fts[_task_of(f)] = f
        m = self.method.currentData()
        return JobSpec(STUDY, params={"method": m, "params": self.params(), "limit": int(self.limit.value())},
                       inputs={"base": self.base.value(), "finetunes": fts},
                       label=f"{m} of {len(fts)} fine-tunes")

    def config_dict(self) -> dict:
        """The current settings as a mergekit config (T-Switch has no mergekit form)."""
        m = self.method.currentData()
        if m == "tswitch":
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
            self.status.setText(f"<span style='color:#c0392b'>{exc}</span>")
            return
        self.method.setCurrentIndex(max(0, self.method.findData(cfg.merge_method)))
        if cfg.base_model:
            self.base.set_value(cfg.base_model)
        self.fts.clear()
        self.fts.addItems([m.model for m in cfg.models])
        first = cfg.models[0].parameters
        for key, box in (("weight", self.weight), ("density", self.density)):
            v = first.get(key, cfg.parameters.get(key))
            if isinstance(v, (int, float)):
                box.setValue(float(v))
        for key, box in (("lambda", self.lam), ("t", self.t)):
            if isinstance(cfg.parameters.get(key), (int, float)):
                box.setValue(float(cfg.parameters[key]))
        self.status.setText(f"Loaded {path}")

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
            self.status.setText(f"<span style='color:#c0392b'>{exc}</span>")
            return
        self.status.setText(f"Config written to {path}")

    def _save_yaml(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the merge as a mergekit config", "merge.yml",
                                              "YAML (*.yml *.yaml)")
        if path:
            self.save_config(path)

    # -- jobs --------------------------------------------------------------------------------
    def start(self) -> str | None:
        if not self.finetunes():
            self.status.setText("Add at least one fine-tune.")
            return None
        self._active = self.submit(self.spec())
        self.run_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.status.setText("Running…")
        return self._active

    def route(self) -> str | None:
        if self._run is None or self._run.result.get("method") != "tswitch":
            return None
        r = self._run.result
        spec = JobSpec(AUTO, params={"prompt": self.prompt.text(), "hard": self.hard.isChecked()},
                       inputs={"base": r["base"], "tswitch": r["out"]}, label=f"auto-switch {self.prompt.text()!r}")
        self.route_out.setText("Routing…")
        return self.submit(spec)

    def on_event(self, event) -> None:
        if event.run_id != self._active:
            return
        if event.type == "progress":
            frac = event.data.get("fraction")
            self.status.setText(f"{'' if frac is None else f'{100 * frac:.0f}% '}{event.data.get('message', '')}")
        elif event.type == "finished":
            self.run_btn.setEnabled(True)
            self.cancel_btn.setEnabled(False)
            self.status.setText(f"Run {event.data.get('status')}.")

    def on_run_failed(self, run) -> None:
        last = (run.error or "").strip().splitlines()
        msg = last[-1] if last else run.status
        target = self.route_out if run.spec.kind == AUTO else self.status
        target.setText(f"<span style='color:#c0392b'>Run {run.status}: {msg}</span>")

    def _export(self) -> None:
        dest, _ = QFileDialog.getSaveFileName(self, "New folder to create")
        if dest:
            self.export_to(dest)

    def export_to(self, dest: str) -> Path:
        """Copy the shown result (merged model or switch folder) to ``dest``, atomically."""
        from backend.workspace.atomic import atomic_dir

        with atomic_dir(dest) as tmp:
            shutil.copytree(self._run.result["out"], tmp, dirs_exist_ok=True)
        self.status.setText(f"Copied to {dest}")
        return Path(dest)

    # -- drawing -----------------------------------------------------------------------------
    def show_run(self, run) -> None:
        if run.spec.kind == AUTO:
            r = run.result
            w = ", ".join(f"{t} {v:.2f}" for t, v in sorted(r["weights"].items(), key=lambda kv: -kv[1]))
            self.route_out.setText(f"weights: {w}<br>answer: <b>{r['answer'] or '(empty)'}</b>")
            return
        self._run = run
        r = run.result
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
        if r["method"] == "tswitch" and st:
            parts.append(f"switches {np.mean([s['% of fp32'] for s in st]):.2f}% of fp32 each (measured from the files)")
        self.summary.setText(" · ".join(parts))
        self.export_btn.setEnabled(True)
        self.route_btn.setEnabled(r["method"] == "tswitch")
