"""Equation discovery panel: fit sparse governing equations, or run the proposer loop.

Left: where the data comes from (a built-in system with noise, or a CSV/NPZ/frames file), the
library and optimizer, coordinates for frames, and the proposer (built-in, an OpenAI-compatible
endpoint, or a local HF model folder). Right: the data (time series and phase portrait), the
discovered equations typeset with matplotlib mathtext and their scores, the extrapolation past
the training window, derivative residuals, and the proposer transcript with the images it saw.
Everything is redrawn from the run's output folder, so runs open from the history too.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QPalette, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.panels.base import Panel, register_panel, scrollable
from app.widgets.params_form import ParamsForm
from app.widgets.pickers import PathPicker
from app.widgets.plots import CurvePlot
from app.widgets.run_controls import RunControls
from app.widgets.tables import DictTable
from backend.equations.settings import FitSettings
from backend.jobs import JobSpec

if TYPE_CHECKING:
    from backend.workspace import RunRecord

SYSTEMS = ["lorenz", "vanderpol", "duffing", "pendulum", "lotka_volterra", "sir", "pendulum_video"]
DEFAULT_LIBRARY = {"pendulum": "poly1+trig1", "pendulum_video": "poly1+trig1",
                   "lotka_volterra": "poly2", "sir": "poly2"}


def latex_pixmap(lines: list[str], fontsize: int = 15, color: str = "black") -> QPixmap:
    """Typeset ``$...$`` lines with matplotlib mathtext (Agg) into a pixmap: ``color`` text on a
    transparent background, so it sits on the theme's own background."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 0.55 * max(1, len(lines)) + 0.2))
    FigureCanvasAgg(fig)
    for i, line in enumerate(lines):
        fig.text(0.01, 1 - (i + 0.75) / max(1, len(lines)), f"${line}$", fontsize=fontsize, va="center",
                 color=color)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", transparent=True)
    pix = QPixmap()
    pix.loadFromData(buf.getvalue(), "PNG")
    return pix


def _image_label(path: Path, width: int = 620) -> QLabel:
    label = QLabel()
    pix = QPixmap(str(path))
    if not pix.isNull() and pix.width() > width:
        pix = pix.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
    label.setPixmap(pix)
    label.setToolTip(str(path))
    return label


@register_panel
class EquationsPanel(Panel):
    panel_id = "equations"
    title = "Equation discovery"
    description = "Governing equations (and coordinates) from time series: SINDy and a proposer loop."
    kinds = ("equations.fit", "equations.discover", "equations.system")
    order = 40

    def __init__(self, context, parent=None) -> None:
        super().__init__(context, parent)
        self.current: str | None = None
        self.transcript: dict | None = None
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self._controls())
        split.addWidget(self._views())
        split.setStretchFactor(1, 1)
        split.setSizes([330, 1000])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(split)

    # -- building ---------------------------------------------------------------------------
    def _controls(self) -> QWidget:
        box = QWidget()
        v = QVBoxLayout(box)
        src = QGroupBox("Data")
        f = QFormLayout(src)
        self.source = QComboBox()
        self.source.addItems(["Built-in system", "Data file"])
        self.system = QComboBox()
        self.system.addItems(SYSTEMS)
        self.system.currentTextChanged.connect(lambda s: self.library.setText(DEFAULT_LIBRARY.get(s, "poly3")))
        self.noise = QDoubleSpinBox(decimals=3, maximum=1.0, singleStep=0.005)
        self.noise.setToolTip("Gaussian noise as a fraction of each state's standard deviation")
        self.data = PathPicker("file", "Data (*.csv *.npz);;All files (*)", "CSV / NPZ file or frames folder")
        self.coords = QComboBox()
        self.coords.addItems(["auto", "none", "track", "pca", "autoencoder"])
        self.coords.setToolTip("coordinates for image frames: track the object, PCA, or an autoencoder")
        for label, w in (("Source", self.source), ("System", self.system), ("Noise", self.noise), ("File", self.data),
                         ("Coordinates", self.coords)):
            f.addRow(label, w)

        def source_changed(i: int) -> None:  # only the rows of the chosen source can be edited
            for w in (self.system, self.noise):
                w.setEnabled(i == 0)
            self.data.setEnabled(i == 1)

        self.source.currentIndexChanged.connect(source_changed)
        source_changed(0)
        v.addWidget(src)
        fit = QGroupBox("Library and fit")
        f = QFormLayout(fit)
        self.library = QLineEdit("poly3")
        self.library.setToolTip(FitSettings.info("library").help)
        self.terms = QLineEdit()
        self.terms.setPlaceholderText("extra terms, e.g. x*exp(-y), sin(2*x)")
        f.addRow("Library", self.library)
        f.addRow("Extra terms", self.terms)
        self.form = ParamsForm(FitSettings, exclude=("library", "custom_terms"))
        f.addRow(self.form)
        v.addWidget(fit)
        prop = QGroupBox("Proposer loop")
        f = QFormLayout(prop)
        self.proposer = QComboBox()
        self.proposer.addItems(["builtin", "openai", "hf"])
        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText("http://127.0.0.1:8000/v1")
        self.model = QLineEdit()
        self.model.setPlaceholderText("model name, or HF model folder")
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.rounds = QSpinBox(minimum=1, maximum=20, value=4)
        for label, w in (("Proposer", self.proposer), ("Endpoint", self.base_url), ("Model", self.model),
                         ("API key", self.api_key), ("Rounds", self.rounds)):
            f.addRow(label, w)
        v.addWidget(prop)
        self.controls = RunControls(self.context, start_text="Fit")
        self.controls.start_requested.connect(lambda: self.start("fit"))
        self.fit_btn, self.stop_btn = self.controls.start_button, self.controls.stop_button
        self.loop_btn = QPushButton("Discover (loop)")
        self.loop_btn.setToolTip("propose -> fit -> score rounds with the chosen proposer")
        self.loop_btn.clicked.connect(lambda: self.start("discover"))
        self.controls.layout().itemAt(0).layout().insertWidget(1, self.loop_btn)
        self.controls.all_finished.connect(lambda: self.loop_btn.setEnabled(True))
        self.status = self.controls.status
        v.addWidget(self.controls)
        v.addStretch(1)
        area = scrollable(box, 330)
        area.setMaximumWidth(420)
        return area

    def _views(self) -> QWidget:
        self.tabs = QTabWidget()
        data = QWidget()
        dl = QHBoxLayout(data)
        self.series_plot = CurvePlot("states over time", "t", "state")
        self.phase_plot = CurvePlot("phase portrait", "", "")
        dl.addWidget(self.series_plot, 3)
        dl.addWidget(self.phase_plot, 2)
        self.tabs.addTab(data, "Data")
        eq = QWidget()
        el = QVBoxLayout(eq)
        self.eq_label = QLabel("No model yet.")
        self.eq_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.eq_label.setStyleSheet("background: palette(base); padding: 8px;")
        self._latex: list[str] = []
        self.notes_label = QLabel("")
        self.notes_label.setWordWrap(True)
        self.notes_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.metrics_table = DictTable()
        el.addWidget(self.eq_label)
        el.addWidget(self.notes_label)
        el.addWidget(self.metrics_table, 1)
        self.tabs.addTab(eq, "Equations")
        self.selection_plot = CurvePlot("model selection: held-out error by number of terms", "terms",
                                        "held-out error (relative to the zero model)")
        self.selection_plot.setLogMode(x=False, y=True)  # errors span decades between sizes
        self.tabs.addTab(self.selection_plot, "Selection")
        self.extrap_plot = CurvePlot("data vs model past the training window", "t", "state")
        self.tabs.addTab(self.extrap_plot, "Extrapolation")
        self.resid_plot = CurvePlot("derivative residual (measured - model) on the training part", "t", "residual")
        self.tabs.addTab(self.resid_plot, "Residuals")
        tr = QSplitter(Qt.Orientation.Horizontal)
        self.round_list = QListWidget()
        self.round_list.currentRowChanged.connect(self._show_round)
        right = QSplitter(Qt.Orientation.Vertical)
        self.round_text = QTextEdit(readOnly=True)
        self.round_images = QWidget()
        QVBoxLayout(self.round_images)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.round_images)
        right.addWidget(self.round_text)
        right.addWidget(scroll)
        right.setSizes([220, 420])
        tr.addWidget(self.round_list)
        tr.addWidget(right)
        tr.setSizes([200, 800])
        self.tabs.addTab(tr, "Proposer transcript")
        return self.tabs

    # -- running ----------------------------------------------------------------------------
    def spec(self, mode: str) -> JobSpec:
        params: dict = {**self.form.values(), "library": self.library.text().strip() or "poly3",
                        "custom_terms": [t.strip() for t in self.terms.text().split(",") if t.strip()]}
        FitSettings.from_job_params(params)  # a bad value is named here, before anything runs
        if self.coords.currentText() != "auto":
            params["coords"] = self.coords.currentText()
        inputs: dict = {}
        if self.source.currentIndex() == 0:
            params.update(system=self.system.currentText(), noise=self.noise.value())
        else:
            if not self.data.value():
                raise ValueError("choose a data file first")
            inputs["data"] = self.data.value()
        if mode == "discover":
            params["rounds"] = self.rounds.value()
            kind = self.proposer.currentText()
            prop = {"kind": kind}
            if kind == "openai":
                prop.update(base_url=self.base_url.text().strip(), model=self.model.text().strip(),
                            api_key=self.api_key.text())
            elif kind == "hf":
                inputs["proposer_model"] = self.model.text().strip()
            params["proposer"] = prop
        return JobSpec(f"equations.{mode}", params=params, inputs=inputs, label=f"equations {mode}")

    def start(self, mode: str = "fit") -> str | None:
        try:
            spec = self.spec(mode)
        except ValueError as exc:
            self.controls.set_error(str(exc))
            return None
        for plot in (self.series_plot, self.phase_plot, self.extrap_plot, self.resid_plot, self.selection_plot):
            plot.clear_curves()  # the previous run's pictures must not pass for this one's
        self.eq_label.setText("Fitting…")
        self.notes_label.setText("")
        self.current = self.submit(spec)
        self.controls.track(self.current)
        self.loop_btn.setEnabled(False)
        return self.current

    def restore_settings(self, run: RunRecord) -> None:
        """Put a run's settings back into the form (a run opened from the history)."""
        p = run.spec.params
        self.form.set_values(p)
        if p.get("library"):
            self.library.setText(str(p["library"]))
        self.terms.setText(", ".join(p.get("custom_terms") or []))
        if p.get("system"):
            self.source.setCurrentIndex(0)
            self.system.setCurrentText(str(p["system"]))
            self.library.setText(str(p.get("library") or self.library.text()))
        elif run.spec.inputs.get("data"):
            self.source.setCurrentIndex(1)
            self.data.set_value(run.spec.inputs["data"])

    # -- drawing ----------------------------------------------------------------------------
    def _draw_latex(self) -> None:
        if self._latex:
            from PySide6.QtWidgets import QApplication

            color = QApplication.palette().color(QPalette.ColorRole.Text).name()   # the theme's, just switched
            self.eq_label.setPixmap(latex_pixmap(self._latex, color=color))

    def changeEvent(self, event: QEvent) -> None:  # Qt override: the theme switch re-typesets in its colours
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and getattr(self, "_latex", None):
            self._draw_latex()

    def show_run(self, run: RunRecord) -> None:
        self.loop_btn.setEnabled(not self.controls.busy)
        res = run.result or {}
        if run.spec.kind == "equations.system":
            self.controls.set_message(f"wrote {res.get('out')}")
            return
        m = res.get("metrics", {})
        score = (f"extrapolation rel. L2 {m['extrapolation_rel_l2']:.3g}" if "extrapolation_rel_l2" in m
                 else f"held-out rel. error {m.get('heldout_rel_error', float('nan')):.3g}")
        self.controls.report(f"{m.get('n_terms', '?')} terms; {score}; formulation {res.get('formulation', '?')}")
        self._latex = list(res.get("latex", []))
        self._draw_latex()
        notes = res.get("notes") or []
        self.notes_label.setText("\n".join(f"• {n}" for n in notes))
        self._draw_selection(res.get("selection"))
        self.metrics_table.set_rows([{"metric": k, "value": v} for k, v in m.items()])
        if res.get("series") and Path(res["series"]).is_file():
            self._draw_series(np.load(res["series"]))
        self.transcript = None
        self.round_list.clear()
        if res.get("transcript") and Path(res["transcript"]).is_file():
            from backend.readers import read_equations_transcript

            self.transcript = read_equations_transcript(res["transcript"])
            self.transcript_dir = Path(res["transcript"]).parent
            for r in self.transcript["rounds"]:
                best = " (best)" if r["round"] == self.transcript["best_round"] else ""
                self.round_list.addItem(f"round {r['round']}{best}: score {r['score']:.3g}")
            self.round_list.setCurrentRow(self.transcript["best_round"])
        self.tabs.setCurrentIndex(1)

    def _draw_selection(self, sel: dict | None) -> None:
        self.selection_plot.clear_curves()
        if not sel:
            return
        for eq in sel["equations"]:
            curve = [c for c in eq["curve"] if np.isfinite(c["cv_mse"])]
            if not curve:
                continue
            zero = next((c["cv_mse"] for c in curve if c["n_terms"] == 0), None) or max(c["cv_mse"] for c in curve)
            ks = [c["n_terms"] for c in curve]
            err = [c["cv_mse"] / max(zero, 1e-300) for c in curve]
            self.selection_plot.set_curve(f"d{eq['equation']}/dt", ks, err)
            chosen = [(k, e) for k, e, c in zip(ks, err, curve) if c["chosen"]]
            if chosen:
                item = self.selection_plot.set_curve(f"d{eq['equation']}/dt chosen ({sel['criterion']})",
                                                     [chosen[0][0]], [chosen[0][1]], symbol="star")
                item.setSymbolSize(18)

    def _draw_series(self, s) -> None:
        names = [str(n) for n in s["names"]]
        t, x, n_train = s["t"], s["x"], int(s["n_train"])
        step = max(1, len(t) // 3000)
        for plot in (self.series_plot, self.phase_plot, self.extrap_plot, self.resid_plot):
            plot.clear_curves()
        for i, n in enumerate(names):
            self.series_plot.set_curve(n, t[::step], x[::step, i], symbol=None)
            resid = (s["dx"][:, i] - s["fitted"][:, i])[::step]
            self.resid_plot.set_curve(f"d{n}/dt", t[:n_train:step], resid, symbol=None)
        if len(names) >= 2:
            self.phase_plot.setLabel("bottom", names[0])
            self.phase_plot.setLabel("left", names[1])
            self.phase_plot.set_curve("data", x[::step, 0], x[::step, 1], symbol=None)
            if len(s["prediction"]):
                self.phase_plot.set_curve("model", s["prediction"][:, 0], s["prediction"][:, 1],
                                          symbol=None, dashed=True)
        pt, pred = s["prediction_t"], s["prediction"]
        if len(pred):
            lo = max(0, n_train - 1 - (len(t) - n_train))  # as much training context as horizon
            for i, n in enumerate(names):
                self.extrap_plot.set_curve(f"{n} data", t[lo::step], x[lo::step, i], symbol=None)
                self.extrap_plot.set_curve(f"{n} model", pt[::step], pred[::step, i], symbol=None, dashed=True)
            import pyqtgraph as pg

            self.extrap_plot.addItem(pg.InfiniteLine(float(t[n_train - 1]), angle=90, label="end of training",
                                                     pen=pg.mkPen("#888", width=2, style=Qt.PenStyle.DashLine),
                                                     labelOpts={"position": 0.95, "color": "#888"}))
            # mid grey: readable on both themes (the pale yellow vanished on the light one)

    def _show_round(self, row: int) -> None:
        if not self.transcript or row < 0 or row >= len(self.transcript["rounds"]):
            return
        r = self.transcript["rounds"][row]
        prop = r.get("proposal") or {}
        lines = [*r["equations"], "", f"score {r['score']:.4g}; custom terms: {', '.join(r['custom_terms']) or 'none'}"]
        if r.get("request_text"):
            lines += ["", "— what the proposer was told —", r["request_text"]]
        if prop:
            lines += ["", "— reply —", prop.get("raw", ""), "", f"accepted: {prop.get('accepted')}",
                      f"rejected: {prop.get('rejected')}", f"removed: {prop.get('removed')}"]
        if r.get("proposal_error"):
            lines += ["", f"proposer failed: {r['proposal_error']}"]
        self.round_text.setPlainText("\n".join(lines))
        lay = self.round_images.layout()
        while lay.count():
            w = lay.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        for name, rel in r.get("images", {}).items():
            lay.addWidget(QLabel(f"<b>{name}</b>"))
            lay.addWidget(_image_label(self.transcript_dir / rel))
