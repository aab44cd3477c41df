"""Delta compression panel: compress a fine-tune against its base with Delta-DCT or a baseline.

Left: base and fine-tuned model (zoo names or folders), then forms bound to
``backend.compression.params.CompressParams`` (method, budget in payload bits per parameter,
Delta-DCT settings, scale distillation, accuracy), the rate–distortion curves switch, the run
controls (Compress / Stop, progress, the reason of a failure) and the exports. Right: a summary
line, the rate–distortion plots (bits/param vs relative L2 error of the delta and vs task
accuracy, one curve per method), the bit allocation of the chosen tensor as a heatmap (one cell
per patch), and tables of sizes and accuracies per budget and of per-tensor errors.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
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

from app.panels.base import Panel, register_panel, scrollable
from app.widgets.params_form import ParamsForm
from app.widgets.pickers import ModelPicker, PathPicker
from app.widgets.plots import CurvePlot, Heatmap, accuracy_axis
from app.widgets.run_controls import RunControls
from app.widgets.tables import DictTable
from backend.compression.names import DISTILLABLE, TITLES
from backend.compression.params import CompressParams
from backend.jobs import JobSpec

if TYPE_CHECKING:
    from app.context import AppContext

KIND, DECOMPRESS = "compression.compress", "compression.decompress"
METHODS = dict(TITLES)  # key -> title, from the backend's torch-free names
SWEEP_BITS = (0.5, 1, 2, 4)
OVERVIEW = "All tensors: share of patches per bit width"
ERR_CAP = 1.6  # top of the error axis


@register_panel
class CompressionPanel(Panel):
    panel_id = "compression"
    title = "Delta compression"
    description = "Delta-DCT and baselines: compress a fine-tune's delta to ~1 bit per parameter"
    kinds = (KIND, DECOMPRESS)
    order = 60

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._run = None
        self._bitmaps: dict[str, np.ndarray] = {}
        zoo = self.context.zoo_root()
        self.base = ModelPicker(zoo, default="zoo:arith-base", name_filter="base")
        self.ft = ModelPicker(zoo, default="zoo:arith-ft-add", name_filter="ft")
        # every setting (default, range, tooltip) comes from CompressParams, in three groups
        self.form = ParamsForm(CompressParams, fields=("method", "bits", "evaluate", "which", "exclude"), parent=self)
        self.dct_form = ParamsForm(CompressParams, fields=("patch", "quantizer", "rescale", "scope", "mix"),
                                   parent=self)
        self.distill_form = ParamsForm(CompressParams, fields=("distill_steps", "distill_lr"), parent=self)
        self.forms = (self.form, self.dct_form, self.distill_form)
        self.method, self.bits = self.form.editor("method"), self.form.editor("bits")
        for i in range(self.method.count()):
            self.method.setItemText(i, METHODS.get(self.method.itemData(i), self.method.itemText(i)))
        self.bits.setSuffix(" bits/param")
        self.evaluate = self.form.editor("evaluate")
        self.patch, self.quantizer = self.dct_form.editor("patch"), self.dct_form.editor("quantizer")
        self.rescale = self.dct_form.editor("rescale")
        self.distill_steps = self.distill_form.editor("distill_steps")
        self.method.currentIndexChanged.connect(self._method_changed)
        # scale distillation: off by default (Delta-DCT as published is data-free)
        self.distill = QGroupBox("Scale distillation (Delta-DCT, BitDelta)")
        self.distill.setCheckable(True)
        self.distill.setChecked(False)
        self.distill.setToolTip("refit the stored scales so the compressed model's outputs match the fine-tune's "
                                "on this text; the artifact keeps its size and format")
        self.calibration = PathPicker("file", "Text (*.txt *.jsonl);;All files (*)",
                                      placeholder=".txt (one text per line) or .jsonl (text, or prompt + answer)")
        self._zoo, self._auto_calibration = zoo, ""
        self.ft.changed.connect(self._suggest_calibration)
        self._suggest_calibration()
        qv = QVBoxLayout(self.distill)
        qform = QFormLayout()
        qform.addRow("Text", self.calibration)
        qv.addLayout(qform)
        qv.addWidget(self.distill_form)
        budgets = ", ".join(f"{b:g}" for b in SWEEP_BITS)
        self.curves = QCheckBox(f"rate–distortion curves: all methods at {budgets} bits")
        self.curves.setChecked(True)
        self.controls = RunControls(context, start_text="Compress", parent=self)
        self.controls.start_requested.connect(self.start)
        self.start_btn, self.cancel_btn = self.controls.start_button, self.controls.stop_button
        self.status = self.controls.status
        self.export_art_btn = QPushButton("Export artifact…")
        self.export_art_btn.clicked.connect(lambda: self._ask_dir(self.export_artifact))
        self.export_model_btn = QPushButton("Export reconstructed model…")
        self.export_model_btn.clicked.connect(lambda: self._ask_dir(self.export_model))
        for b in (self.export_art_btn, self.export_model_btn):
            b.setEnabled(False)
        self.controls.set_message("Pick a base model and its fine-tune, then Compress.")

        models = QGroupBox("Models")
        form = QFormLayout(models)
        form.addRow("Base", self.base)
        form.addRow("Fine-tuned", self.ft)
        settings = QGroupBox("Compression")
        QVBoxLayout(settings).addWidget(self.form)
        self.dct = QGroupBox("Delta-DCT settings")
        QVBoxLayout(self.dct).addWidget(self.dct_form)
        form_col = QWidget()   # scrolls (taller than a 720-pixel window once Advanced is open)
        fv = QVBoxLayout(form_col)
        fv.setContentsMargins(0, 0, 0, 0)
        for w in (models, settings, self.dct, self.distill, self.curves):
            fv.addWidget(w)
        fv.addStretch(1)
        scroll = QWidget()     # the run controls and exports stay in view below the settings
        lv = QVBoxLayout(scroll)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(scrollable(form_col, 360), 1)
        lv.addWidget(self.controls)
        row = QHBoxLayout()
        row.addWidget(self.export_art_btn)
        row.addWidget(self.export_model_btn)
        lv.addLayout(row)
        scroll.setMaximumWidth(440)

        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.err_plot = CurvePlot("Reconstruction error", "payload bits / parameter", "rel. L2 error of Δ")
        self.acc_plot = CurvePlot("Task accuracy", "payload bits / parameter", "exact match")
        # curves fall (error) or rise (accuracy) from the left: keep each legend in the free corner
        self.err_plot.plotItem.legend.setOffset((-10, 10))
        self.acc_plot.plotItem.legend.setOffset((-10, -10))
        plots = QWidget()
        ph = QHBoxLayout(plots)
        ph.setContentsMargins(0, 0, 0, 0)
        ph.addWidget(self.err_plot)
        ph.addWidget(self.acc_plot)
        self.tensor = QComboBox()
        self.tensor.currentTextChanged.connect(self._draw_bitmap)
        self.heatmap = Heatmap("bits per patch", colormap="viridis")
        alloc = QWidget()
        av = QVBoxLayout(alloc)
        top = QHBoxLayout()
        top.addWidget(QLabel("Tensor"))
        top.addWidget(self.tensor, 1)
        av.addLayout(top)
        av.addWidget(self.heatmap, 1)
        self.points = DictTable()
        self.tensors = DictTable()
        tabs = QTabWidget()
        tabs.addTab(self.points, "Sizes and accuracy")
        tabs.addTab(self.tensors, "Per tensor")
        self.tabs = QTabWidget()
        self.tabs.addTab(alloc, "Bit allocation")
        self.tabs.addTab(tabs, "Tables")
        right_split = QSplitter(Qt.Orientation.Vertical)
        right_split.addWidget(plots)
        right_split.addWidget(self.tabs)
        right_split.setSizes([330, 330])
        right_split.setStretchFactor(0, 1)          # a short window keeps room for the curves
        right_split.setStretchFactor(1, 1)
        self.heatmap.setMinimumHeight(170)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.addWidget(self.summary)
        rv.addWidget(right_split, 1)
        split = QSplitter()
        split.addWidget(scroll)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        outer = QVBoxLayout(self)
        outer.addWidget(split)

    # -- actions -----------------------------------------------------------------------------
    def _method_changed(self) -> None:
        self.dct.setEnabled(self.method.currentData() == "delta-dct")

    def settings(self) -> CompressParams:
        """The forms' settings, validated (ValueError naming the setting)."""
        values: dict = {}
        for f in self.forms:
            values.update(f.values())
        if self.curves.isChecked():
            values.update(sweep_methods=list(METHODS), sweep_bits=list(SWEEP_BITS))
        return CompressParams.from_params(values)

    def spec(self) -> JobSpec:
        p = self.settings()
        inputs = {"base": self.base.value(), "ft": self.ft.value()}
        params = p.to_dict()
        if self.distill.isChecked():
            inputs["calibration"] = self.calibration.value()
        else:
            params.pop("distill_steps"), params.pop("distill_lr")
        return JobSpec(KIND, params=params, inputs=inputs,
                       label=f"compress {Path(self.ft.value()).name} ({p.method}, {p.bits:g} bits)")

    def start(self) -> str | None:
        if self.distill.isChecked():
            if not self.calibration.value():
                self.controls.set_error("Choose a calibration text for scale distillation, or switch it off.")
                return None
            if self.method.currentData() not in DISTILLABLE:
                self.controls.set_error(f"Scale distillation applies to Delta-DCT and BitDelta, not "
                                        f"{self.method.currentText()}: switch it off or pick one of those.")
                return None
        return self.submit_tracked(self.controls, self.spec)

    def _suggest_calibration(self, *_) -> None:
        """Fill in the fine-tune's own training prompts when the zoo has them (the text that kept
        most of each gain, docs/compression.md), else the zoo's chain problems; a path the user
        chose is left alone."""
        if self.calibration.value() not in ("", self._auto_calibration):
            return
        value = self.ft.value()
        folder = self._zoo / value[4:] if value.startswith("zoo:") else Path(value)
        from backend.models.zoo import finetune_data

        own, chains = finetune_data(folder, "train"), self._zoo / "data" / "problems_train.jsonl"
        suggestion = str(own) if own else str(chains) if chains.is_file() else ""
        self._auto_calibration = suggestion
        self.calibration.set_value(suggestion)

    def _ask_dir(self, action) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "New folder to create")
        if path:
            action(path)

    def export_artifact(self, dest: str) -> Path:
        """Copy the shown run's artifact folder to ``dest`` (a new folder, written atomically)."""
        from backend.workspace.atomic import atomic_dir

        src = Path(self._run.result["out"])
        with atomic_dir(dest) as tmp:
            shutil.copytree(src, tmp, dirs_exist_ok=True)
        self.controls.set_message(f"Artifact copied to {dest}")
        return Path(dest)

    def export_model(self, dest: str) -> str:
        """Decompress the shown run's artifact into a full model folder ``dest`` (a job)."""
        r = self._run.result
        spec = JobSpec(DECOMPRESS, inputs={"art": r["out"], "base": r["base"], "out": str(dest)},
                       label=f"decompress {Path(r['ft']).name}")
        self.controls.set_message(f"Writing the reconstructed model to {dest}…")
        run_id = self.submit(spec)
        self.controls.track(run_id)
        return run_id

    # -- drawing -----------------------------------------------------------------------------
    def show_run(self, run) -> None:
        if run.spec.kind == DECOMPRESS:
            self.controls.set_message(f"Reconstructed model written to {run.result.get('out')}")
            return
        self._run = run
        self.controls.report(f"Showing run {run.id}.")
        r = run.result
        for picker, key in ((self.base, "base"), (self.ft, "ft")):   # the models of the run shown
            if run.spec.inputs.get(key):
                picker.set_value(str(run.spec.inputs[key]))
        try:  # a run opened from the history puts its settings back in the forms
            p = CompressParams.from_record(run.spec.params)
            for f in self.forms:
                f.set_values(p.to_dict())
            self.curves.setChecked(bool(p.sweep_methods))
        except ValueError:
            pass  # a record with settings this version no longer has
        s = r["sizes"]
        acc = r.get("accuracy")
        acc_text = ""
        if acc:
            kept = "n/a" if acc.get("gain_kept") is None else f"{100 * acc['gain_kept']:.0f}%"
            acc_text = (f" · accuracy {acc['compressed']:.3f} (base {acc['base']:.3f}, fine-tune "
                        f"{acc['finetuned']:.3f}; gain kept {kept}, n={acc['n']})")
        self.summary.setText(
            f"<b>{METHODS.get(r['method'], r['method'])}</b>, budget {r['bits']:g} bits/param: "
            f"payload {s['payload_bpp']:.3f} "
            f"+ metadata = {s['total_bpp']:.3f} bits/param · file {s['file_bytes']:,} bytes "
            f"({s['ratio_vs_fp32_delta']:.1f}× smaller than an fp32 delta; accounting off by "
            f"{100 * s['accounting_deviation']:.2f}%) · rel. error {r['rel_err']:.3f}{acc_text} · "
            f"{len(r['exact_tensors'])} tensors stored exactly{self._distill_text(r)}")
        self._draw_curves(r)
        self._bitmaps = {}
        if r.get("bitmaps_file") and Path(r["bitmaps_file"]).is_file():
            with np.load(r["bitmaps_file"]) as z:
                self._bitmaps = {k: z[k] for k in z.files}
        self.tensor.blockSignals(True)
        self.tensor.clear()
        if self._bitmaps:
            self.tensor.addItem(OVERVIEW)
        self.tensor.addItems(sorted(self._bitmaps))
        self.tensor.blockSignals(False)
        if self._bitmaps:
            self.tensor.setCurrentText(OVERVIEW)
            self._draw_bitmap(OVERVIEW)
        self.tensors.set_rows([{"tensor": t["name"], "shape": "×".join(map(str, t["shape"])),
                                "rel. error": t["rel_err"],
                                "bit mix": ", ".join(f"{b}b {100 * f:.0f}%" for b, f in sorted(
                                    t["mix"].items(), key=lambda kv: -int(kv[0])))} for t in r["tensors"]])
        for b in (self.export_art_btn, self.export_model_btn):
            b.setEnabled(True)

    @staticmethod
    def _distill_text(r: dict) -> str:
        d = r.get("distill")
        if not d:
            return ""
        kl = "" if d.get("kl_before") is None else f": KL to the fine-tune {d['kl_before']:.3f} → {d['kl_after']:.3f}"
        return f" · scales distilled on {d['file']} ({d['texts']} texts, {d['steps']} steps{kl})"

    def _draw_curves(self, r: dict) -> None:
        self.err_plot.clear_curves()
        self.acc_plot.clear_curves()
        rows = list(r.get("sweep") or [])
        by_method: dict[str, list[dict]] = {}
        for p in rows:
            by_method.setdefault(p["method"], []).append(p)
        for m, pts in by_method.items():
            pts.sort(key=lambda p: p["payload_bpp"])
            name = METHODS.get(m, m) + (" (distilled)" if any(p.get("distilled") for p in pts) else "")
            above = [p["rel_err"] for p in pts if p["rel_err"] > ERR_CAP]
            # the error axis stops at ERR_CAP (DARE's errors would flatten the rest): say what is above
            err_name = name + (f" (↑ {min(above):.2g}–{max(above):.2g})" if above else "")
            self.err_plot.set_curve(err_name, [p["payload_bpp"] for p in pts], [p["rel_err"] for p in pts])
            if all("accuracy" in p for p in pts):
                self.acc_plot.set_curve(name, [p["payload_bpp"] for p in pts], [p["accuracy"] for p in pts])
                # same colours as the error plot beside it, whose legend names the methods: this
                # one lists only the reference lines, so it hides no data
                self.acc_plot.plotItem.legend.removeItem(name)
        acc = r.get("accuracy")
        # the run's own point, so a run without the sweep (the CLI's `compress`) is not an empty plot
        own = "this run"   # its method and budget are in the summary above the plots
        own_bpp = r["sizes"]["payload_bpp"]
        self.err_plot.set_curve(own, [own_bpp], [r["rel_err"]], symbol="star")
        if acc and acc.get("compressed") is not None:
            self.acc_plot.set_curve(own, [own_bpp], [acc["compressed"]], symbol="star")
            self.acc_plot.plotItem.legend.removeItem(own)
        if acc:
            xs = [min(p["payload_bpp"] for p in rows), max(p["payload_bpp"] for p in rows)] if rows else [0, r["bits"]]
            self.acc_plot.set_curve(f"fine-tune ({acc['finetuned']:.2f})", xs, [acc["finetuned"]] * 2, symbol=None,
                                    dashed=True)
            self.acc_plot.set_curve(f"base ({acc['base']:.2f})", xs, [acc["base"]] * 2, symbol=None, dashed=True)
        accuracy_axis(self.acc_plot, what="exact match")
        self.err_plot.setYRange(0, min(ERR_CAP, max([p["rel_err"] for p in rows] + [r["rel_err"]]) * 1.05))
        table = [{"method": METHODS.get(p["method"], p["method"]) + (" (distilled)" if p.get("distilled") else ""),
                  "budget": p["bits"], "payload bpp": p["payload_bpp"],
                  "total bpp": p["total_bpp"], "rel. error": p["rel_err"], "accuracy": p.get("accuracy")} for p in rows]
        s = r["sizes"]
        table.insert(0, {"method": f"{METHODS.get(r['method'], r['method'])} (this run"
                                   f"{', distilled' if r.get('distill') else ''})", "budget": r["bits"],
                         "payload bpp": s["payload_bpp"], "total bpp": s["total_bpp"], "rel. error": r["rel_err"],
                         "accuracy": (acc or {}).get("compressed")})
        self.points.set_rows(table, digits=3)

    def _draw_bitmap(self, name: str) -> None:
        if name == OVERVIEW and self._bitmaps:
            names = sorted(self._bitmaps)
            widths = sorted({int(b) for m in self._bitmaps.values() for b in np.unique(m)})
            share = np.array([[float((self._bitmaps[n] == b).mean()) for b in widths] for n in names])
            short = [n.replace("model.", "").replace(".weight", "").replace("layers.", "L") for n in names]
            self.heatmap.set_matrix(share, row_labels=short, col_labels=[f"{b} bits" for b in widths], levels=(0, 1))
            self.heatmap.plot.setTitle("share of each tensor's patches at each width (columns)")
            return
        m = self._bitmaps.get(name)
        if m is None:
            return
        levels = (0, float(max(4, int(m.max()) if m.size else 4)))
        self.heatmap.set_matrix(m.astype(float), levels=levels)
        p = int(((self._run.result.get("settings") or {}).get("patch") or 0)) if self._run else 0
        self.heatmap.plot.setTitle(f"{name}: bits per {p}×{p} patch (rows × columns of patches)")
