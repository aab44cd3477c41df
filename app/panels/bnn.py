"""Binary networks panel: STE against learned gradients (MetaQuant, FSG) side by side over seeds.

Left: the data (a built-in set or an ``.npz``), the methods, the number of seeds, the run settings
(a :class:`ParamsForm` over :class:`BnnTrainParams`) and :class:`RunControls`. One ``bnn.train``
job per method and seed; jobs of one start share a batch tag in their label, so opening any of
them from the history brings back the whole comparison.

Right: training loss per iteration (mean over the seeds so far, smoothed), final test accuracy
per method (bar = mean, whisker = ±1 std, dots = seeds), the share of weights whose sign flips
per epoch, the gradient histograms of one method (straight-through c⊙g_Q vs the gradient
actually applied), and a table with spread, time per epoch, its ratio to STE + SGD and the
paired test against STE + SGD.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.panels.base import Panel, register_panel
from app.widgets.params_form import ParamsForm
from app.widgets.pickers import PathPicker
from app.widgets.plots import CurvePlot, FittingTitle, series_color
from app.widgets.run_controls import RunControls
from app.widgets.tables import DictTable
from backend.bnn.data import BUILTIN
from backend.bnn.params import METHOD_TITLES, METHODS, BnnTrainParams
from backend.bnn.stats import mean_curve, mean_std, paired_test, smooth
from backend.jobs import JobSpec

KIND = "bnn.train"
FILE_CHOICE = "Other .npz file…"
FORM_FIELDS = [i.name for i in BnnTrainParams.describe() if i.name not in ("method", "seed")]
_BATCH_RE = re.compile(r"\[(b[0-9a-z]+)\]$")


def _color(method: str) -> str:
    return series_color(METHODS.index(method) if method in METHODS else len(METHODS))


class AccuracyBars(FittingTitle, pg.PlotWidget):
    """Mean final test accuracy per method with a ±1 std whisker and every seed as a dot."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setTitle("Final test accuracy (mean ± std over seeds)")
        self.showGrid(y=True, alpha=0.25)
        self.getAxis("left").enableAutoSIPrefix(False)
        self.setMinimumHeight(180)
        self.setMouseEnabled(x=False)
        self._items: list = []
        self._shown: list | None = None

    def set_data(self, rows: list[tuple[str, list[float]]]) -> None:
        """Redraw only when the numbers changed (runs finish rarely; the panel redraws often)."""
        if rows == self._shown:
            return
        self._shown = [(m, list(a)) for m, a in rows]
        for item in self._items:
            self.removeItem(item)
        self._items = []
        ticks, lows = [], []
        for i, (method, accs) in enumerate(rows):
            if not accs:
                continue
            mean, std = mean_std(accs)
            color = _color(method)
            jitter = np.linspace(-0.15, 0.15, len(accs)) if len(accs) > 1 else np.zeros(1)
            self._items += [
                pg.BarGraphItem(x=[i], height=[mean], width=0.6, brush=pg.mkBrush(color + "99"), pen=pg.mkPen(color)),
                pg.ErrorBarItem(x=np.array([i]), y=np.array([mean]), height=np.array([2 * std]), beam=0.2,
                                pen=pg.mkPen(color, width=2)),
                pg.ScatterPlotItem(x=i + jitter, y=accs, size=6, brush=pg.mkBrush(color),
                                   pen=pg.mkPen(self.backgroundBrush().color().darker(150)))]
            ticks.append((i, METHOD_TITLES.get(method, method).split(" (")[0]))
            lows.append(min(accs + [mean - std]))
        for item in self._items:
            self.addItem(item)
        self.getAxis("bottom").setTicks([ticks])
        if lows:
            lo = max(0.0, min(lows) - 0.02)
            self.setYRange(lo, 1.0, padding=0.02)
            self.setXRange(-0.6, len(rows) - 0.4, padding=0)


@register_panel
class BnnPanel(Panel):
    panel_id = "bnn"
    title = "Binary networks"
    description = "Binary-weight networks: STE vs learned gradients (MetaQuant, FSG)"
    kinds = (KIND,)
    order = 70

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._runs: dict[str, dict] = {}       # run id -> {"method", "seed", "series", "result", "hist"}
        self._dirty = False
        self._build_setup()
        self._build_views()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.setup_scroll)
        split.addWidget(self.views)
        split.setStretchFactor(1, 1)
        split.setSizes([330, 950])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)
        self._timer = QTimer(self)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self._redraw)
        self._timer.start()

    # -- building ---------------------------------------------------------------------------
    def _build_setup(self) -> None:
        box = QGroupBox("Setup")
        self.data = QComboBox()
        self.data.addItems([*BUILTIN, FILE_CHOICE])
        self.data.setToolTip("scikit-learn's built-in sets (no download) or your own .npz with X and y")
        self.data_file = PathPicker("file", "NumPy archives (*.npz)", "X: N×features or N×H×W[×C]; y: class ids")
        self.data.currentTextChanged.connect(lambda t: self.data_file.setEnabled(t == FILE_CHOICE))
        self.data_file.setEnabled(False)
        self.method_boxes: dict[str, QCheckBox] = {}
        methods = QVBoxLayout()
        methods.setSpacing(2)
        for m in METHODS:
            cb = QCheckBox(METHOD_TITLES[m])
            cb.setChecked(True)
            self.method_boxes[m] = cb
            methods.addWidget(cb)
        self.seeds = QSpinBox()
        self.seeds.setRange(1, 50)
        self.seeds.setValue(3)
        self.seeds.setToolTip("runs per method with seeds 0..n−1 (a seed fixes split, pretraining and batch order, "
                              "so methods are compared paired by seed)")
        top = QFormLayout()
        top.addRow("Data", self.data)
        top.addRow("", self.data_file)
        top.addRow("Methods", methods)
        top.addRow("Seeds", self.seeds)
        self.form = ParamsForm(BnnTrainParams, fields=FORM_FIELDS)
        self.controls = RunControls(self.context, start_text="Train all", parent=self)
        self.controls.start_requested.connect(self.start)
        note = QLabel("Each run pretrains in full precision, binarises the weights (DoReFa, activations full "
                      "precision) and fine-tunes them. FSG's slow net is a small GRU here, not Mamba.")
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(mid);")
        v = QVBoxLayout(box)
        v.addLayout(top)
        v.addWidget(self.form)
        v.addWidget(self.controls)
        v.addWidget(note)
        v.addStretch(1)
        self.setup_scroll = QScrollArea()
        self.setup_scroll.setWidget(box)
        self.setup_scroll.setWidgetResizable(True)
        self.setup_scroll.setMinimumWidth(320)
        self.setup_scroll.setFrameShape(QScrollArea.Shape.NoFrame)

    def _build_views(self) -> None:
        self.views = QWidget()
        self.loss_plot = CurvePlot("Training loss (mean over seeds, smoothed)", "iteration", "cross-entropy")
        self.acc_plot = AccuracyBars()
        self.flip_plot = CurvePlot("Weights whose sign flipped (mean over seeds)", "epoch", "% of weights")
        self.hist_plot = CurvePlot("Gradient histogram, last epoch", "gradient / its RMS", "share of weights")
        self.hist_method = QComboBox()
        self.hist_method.setToolTip("whose gradients to show: STE's c⊙g_Q against the gradient the method applied")
        self.hist_method.currentIndexChanged.connect(lambda *_: self._draw_hist())
        self.hist_method.activated.connect(lambda *_: setattr(self, "_hist_choice", self.hist_method.currentData()))
        self._hist_choice: str | None = None     # what the user picked; else the first learned method
        hist_box = QWidget()
        hv = QVBoxLayout(hist_box)
        hv.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Histogram of"))
        row.addWidget(self.hist_method, 1)
        hv.addLayout(row)
        hv.addWidget(self.hist_plot, 1)
        grid = QGridLayout()
        grid.addWidget(self.loss_plot, 0, 0)
        grid.addWidget(self.acc_plot, 0, 1)
        grid.addWidget(self.flip_plot, 1, 0)
        grid.addWidget(hist_box, 1, 1)
        self.summary = QLabel("Choose data and methods, then Train all.")
        self.summary.setWordWrap(True)
        self.table = DictTable()
        self.table.setMinimumHeight(130)
        self.table.setMaximumHeight(170)
        v = QVBoxLayout(self.views)
        v.setContentsMargins(0, 0, 0, 0)
        v.addLayout(grid, 1)
        v.addWidget(self.summary)
        v.addWidget(self.table)

    # -- starting ---------------------------------------------------------------------------
    def data_source(self) -> str:
        choice = self.data.currentText()
        return self.data_file.value() if choice == FILE_CHOICE else choice

    def start(self) -> list[str]:
        """Submit one run per chosen method and seed; returns the run ids (empty when refused)."""
        from backend.bnn.data import load_arrays

        methods = [m for m, cb in self.method_boxes.items() if cb.isChecked()]
        if not methods:
            self.controls.set_error("Choose at least one method.")
            return []
        data = self.data_source()
        if not data:
            self.controls.set_error("Choose an .npz file (X and y) or a built-in data set.")
            return []
        try:
            if data not in BUILTIN:
                data = str(Path(data).expanduser().resolve())
                load_arrays(data)                  # a malformed file: one line naming it, nothing submitted
            base = self.form.values()
            specs = []
            batch = "b" + format(int(time.time() * 1000) % 36**6, "x")
            for seed in range(self.seeds.value()):
                for m in methods:
                    params = {**base, "method": m, "seed": seed}
                    BnnTrainParams.from_params(params)
                    label = f"bnn {m} {Path(data).stem} s{seed} [{batch}]"
                    # isolate: the training runs in a child process, so the GUI process only draws
                    specs.append(JobSpec(KIND, params=params, inputs={"data": data}, device="cpu", label=label,
                                         isolate=True))
        except (ValueError, FileNotFoundError) as exc:
            self.controls.set_error(str(exc))
            return []
        self._runs.clear()
        self._clear_views()
        ids = []
        for spec in specs:
            rid = self.submit(spec)
            self._runs[rid] = {"method": spec.params["method"], "seed": spec.params["seed"], "series": {},
                               "result": None, "hist": None}
            self.controls.track(rid)
            ids.append(rid)
        self.summary.setText(f"{len(ids)} runs on {Path(data).name}: "
                             f"{len(methods)} method(s) × {self.seeds.value()} seed(s).")
        self._dirty = True
        return ids

    # -- live events ------------------------------------------------------------------------
    def on_event(self, event) -> None:
        run = self._runs.get(event.run_id)
        if run is None or event.type != "metric":
            return
        d = event.data
        run["series"].setdefault(d["name"], {})[d.get("step")] = d["value"]
        self._dirty = True

    def show_run(self, run) -> None:
        """A finished run: its result and histograms; from the history, its whole batch."""
        if run.id not in self._runs:
            self._load_batch(run)
        entry = self._runs.get(run.id)
        if entry is None:
            return
        entry["result"] = run.result or {}
        losses = entry["result"].get("train_loss_iter")
        if losses:                                  # live points were means of a few iterations
            entry["series"]["train_loss"] = {i + 1: v for i, v in enumerate(losses)}
        path = (run.result or {}).get("metrics_file") or run.artifacts.get("metrics")
        if path and Path(path).is_file():
            try:
                entry["hist"] = json.loads(Path(path).read_text(encoding="utf-8")).get("grad_hist")
            except (OSError, json.JSONDecodeError):
                entry["hist"] = None
        self._dirty = True
        self._redraw()

    def _load_batch(self, run) -> None:
        m = _BATCH_RE.search(run.label or "")
        members = [r for r in self.context.workspace.list_runs(kind=KIND, limit=500)
                   if m and (r.label or "").endswith(f"[{m.group(1)}]")] if m else [run]
        self._runs.clear()
        self._clear_views()
        for r in members or [run]:
            self._runs[r.id] = {"method": r.spec.params.get("method", "?"), "seed": r.spec.params.get("seed", 0),
                                "series": {}, "result": None, "hist": None}
            for name, pts in self.context.workspace.metrics(r.id).items():
                self._runs[r.id]["series"][name] = {s: v for s, v in pts if s is not None}
            if r.id != run.id and r.status == "succeeded":
                self.show_run(r)
        if self._runs:
            self.form.set_values(run.spec.params)
            methods = {e["method"] for e in self._runs.values()}
            for m, cb in self.method_boxes.items():
                cb.setChecked(m in methods)
            self.seeds.setValue(len({e["seed"] for e in self._runs.values()}))
            data = run.spec.inputs.get("data", "")
            self.summary.setText(
                f"Batch of {len(self._runs)} runs on {Path(data).name or data}, opened from the history.")

    # -- drawing ----------------------------------------------------------------------------
    def _clear_views(self) -> None:
        for p in (self.loss_plot, self.flip_plot, self.hist_plot):
            p.clear_curves()
        self.acc_plot.set_data([])
        self.table.set_rows([])
        self._table_key = None
        self.hist_method.blockSignals(True)
        self.hist_method.clear()
        self.hist_method.blockSignals(False)

    def _by_method(self) -> dict[str, list[dict]]:
        groups: dict[str, list[dict]] = {}
        for r in self._runs.values():
            groups.setdefault(r["method"], []).append(r)
        return {m: groups[m] for m in METHODS if m in groups} | {m: g for m, g in groups.items() if m not in METHODS}

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        groups = self._by_method()
        for m, runs in groups.items():
            name = METHOD_TITLES.get(m, m)
            xs, ys = mean_curve([r["series"].get("train_loss", {}) for r in runs])
            if xs:
                self.loss_plot.set_curve(name, xs, smooth(ys, 10), symbol=None).setPen(pg.mkPen(_color(m), width=2))
            fx, fy = mean_curve([r["series"].get("flip_share", {}) for r in runs])
            if fx:
                item = self.flip_plot.set_curve(name, fx, [100 * v for v in fy])
                item.setPen(pg.mkPen(_color(m), width=2))
                item.setSymbolBrush(pg.mkBrush(_color(m)))
                item.setSymbolPen(pg.mkPen(_color(m)))
        self.acc_plot.set_data([(m, [r["result"]["test_accuracy"] for r in runs if r["result"]])
                                for m, runs in groups.items()])
        table_key = [(m, r["seed"], bool(r["result"])) for m, runs in groups.items() for r in runs]
        if table_key != getattr(self, "_table_key", None):
            self._table_key = table_key
            self._fill_table(groups)
        done = [m for m, runs in groups.items() if any(r["hist"] for r in runs)]
        if done != [self.hist_method.itemData(i) for i in range(self.hist_method.count())]:
            self.hist_method.blockSignals(True)
            self.hist_method.clear()
            for m in done:
                self.hist_method.addItem(METHOD_TITLES.get(m, m), m)
            pick = self._hist_choice if self._hist_choice in done else next(
                (m for m in ("fsg", "metaquant", "ste-adam", "ste-sgd") if m in done), None)
            if pick:
                self.hist_method.setCurrentIndex(done.index(pick))
            self.hist_method.blockSignals(False)
            self._draw_hist()

    def _draw_hist(self) -> None:
        self.hist_plot.clear_curves()
        method = self.hist_method.currentData()
        runs = [r for r in self._runs.values() if r["method"] == method and r["hist"]]
        if not runs:
            return
        runs.sort(key=lambda r: r["seed"])
        snap = runs[0]["hist"][-1]
        for key, label, dashed in (("ste", "STE c⊙g_Q", False), ("applied", "applied", True)):
            h = snap[key]
            edges, counts = np.asarray(h["edges"]), np.asarray(h["counts"], dtype=float)
            scale = h["rms"] or 1.0
            centers = (edges[:-1] + edges[1:]) / 2 / scale
            name = f"{label} (rms {h['rms']:.2g})"
            self.hist_plot.set_curve(name, centers, counts / max(counts.sum(), 1), symbol=None, dashed=dashed)
        self.hist_plot.setTitle(f"Gradient histogram, epoch {snap['epoch']}, seed {runs[0]['seed']}")

    def _fill_table(self, groups: dict[str, list[dict]]) -> None:
        base = groups.get("ste-sgd", [])
        base_acc = {r["seed"]: r["result"]["test_accuracy"] for r in base if r["result"]}
        base_time = [r["result"]["mean_epoch_time_s"] for r in base if r["result"]]
        rows = []
        for m, runs in groups.items():
            fin = [r for r in runs if r["result"]]
            accs = [r["result"]["test_accuracy"] for r in fin]
            acc_mean, acc_std = mean_std(accs)
            times = [r["result"]["mean_epoch_time_s"] for r in fin]
            flips = [r["result"]["flip_share"][-1] for r in fin]
            row = {"method": METHOD_TITLES.get(m, m), "seeds": f"{len(fin)}/{len(runs)}",
                   "test acc": f"{acc_mean:.4f} ± {acc_std:.4f}" if accs else "…",
                   "final loss": float(np.mean([r["result"]["train_loss"][-1] for r in fin])) if fin else None,
                   "flips last epoch %": 100 * float(np.mean(flips)) if flips else None,
                   "s / epoch": float(np.mean(times)) if times else None,
                   "× STE-SGD time": float(np.mean(times)) / float(np.mean(base_time)) if times and base_time else None}
            if m != "ste-sgd":
                pairs = [(r["result"]["test_accuracy"], base_acc[r["seed"]]) for r in fin if r["seed"] in base_acc]
                t = paired_test([a for a, _ in pairs], [b for _, b in pairs])
                if t["mean_diff"] is None:
                    cell = "needs 2+ seeds"
                else:
                    p = f"p={t['t_p']:.3g}" if t["t_p"] is not None else "p n/a"
                    cell = f"{t['mean_diff']:+.4f} ({p})"
                row["Δacc vs STE-SGD (paired t p)"] = cell
            else:
                row["Δacc vs STE-SGD (paired t p)"] = "baseline"
            rows.append(row)
        self.table.set_rows(rows)
