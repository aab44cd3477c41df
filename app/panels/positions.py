"""Position embeddings panel: RoPE, FoPE, NoPE and ALiBi trained side by side on one text.

Left: the text (a built-in sample or a file), which variants and seeds to train, the training
settings (a ParamsForm over :class:`FopeTrainParams`) and the evaluation lengths. Each (variant,
seed) is one ``fope.train`` run that evaluates its model afterwards. Right: live training loss per
run, perplexity and key-value recall against the evaluation length (mean ± std over seeds), a table
of the figures, and the spectrum of each model's position embedding per layer and head.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.panels._positions_views import (
    VARIANT_ORDER,
    LengthPlot,
    SpectrumView,
    aggregate,
)
from app.panels.base import Panel, register_panel, scrollable
from app.widgets.params_form import ParamsForm
from app.widgets.pickers import PathPicker
from app.widgets.plots import CurvePlot
from app.widgets.run_controls import RunControls
from app.widgets.tables import DictTable
from backend.jobs import JobSpec
from backend.positions.settings import FopeEvalParams, FopeTrainParams

if TYPE_CHECKING:
    from backend.workspace import RunRecord

SOURCES = (("Python docs (pydoc topics, built in)", "pydoc"), ("stdlib docstrings (built in)", "stdlib"),
           ("Text file", "file"))


@register_panel
class PositionsPanel(Panel):
    panel_id = "positions"
    title = "Position embeddings"
    description = "RoPE vs FoPE vs NoPE vs ALiBi: perplexity and recall beyond the training length, and the spectrum."
    kinds = ("fope.train", "fope.eval", "fope.convert")
    order = 60

    def __init__(self, context, parent=None) -> None:
        super().__init__(context, parent)
        self.results: dict[str, dict] = {}          # run id -> result (shown in the curves)
        self.labels: dict[str, str] = {}            # run id -> "fope s0"
        self.losses: dict[str, list[tuple[float, float]]] = {}
        self._dirty = False
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self._controls())
        split.addWidget(self._views())
        split.setStretchFactor(1, 1)
        split.setSizes([360, 920])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(split)
        self._timer = QTimer(self)
        self._timer.setInterval(400)
        self._timer.timeout.connect(self._redraw_losses)
        self._timer.start()

    # -- building ---------------------------------------------------------------------------
    def _controls(self) -> QWidget:
        box = QWidget()
        v = QVBoxLayout(box)
        text = QGroupBox("Text")
        f = QFormLayout(text)
        self.source = QComboBox()
        for label, key in SOURCES:
            self.source.addItem(label, key)
        self.source.setToolTip("char-level training text; the first 90 % trains, the last 10 % is held out")
        self.text_file = PathPicker("file", "Text (*.txt *.md *.rst);;All files (*)", "a UTF-8 text file")
        self.source.currentIndexChanged.connect(
            lambda _: self.text_file.setEnabled(self.source.currentData() == "file"))
        self.text_file.setEnabled(False)
        f.addRow("Source", self.source)
        f.addRow("File", self.text_file)
        v.addWidget(text)
        which = QGroupBox("Variants and seeds")
        f = QFormLayout(which)
        row = QHBoxLayout()
        self.variant_boxes: dict[str, QCheckBox] = {}
        tips = {"rope": "rotary: one frequency per pair", "fope": "Fourier series per pair, low frequencies clipped",
                "nope": "no position signal (causal mask only)", "alibi": "linear distance penalty per head"}
        for name in VARIANT_ORDER:
            cb = QCheckBox(name)
            cb.setChecked(name in ("rope", "fope"))
            cb.setToolTip(tips[name])
            self.variant_boxes[name] = cb
            row.addWidget(cb)
        f.addRow("Variants", row)
        self.seeds = QLineEdit("0")
        self.seeds.setToolTip("comma-separated seeds; each variant trains once per seed (mean ± std in the curves)")
        f.addRow("Seeds", self.seeds)
        v.addWidget(which)
        train = QGroupBox("Training")
        tl = QVBoxLayout(train)
        self.form = ParamsForm(FopeTrainParams, exclude=("pos", "seed"))
        tl.addWidget(self.form)
        ev = QFormLayout()
        self.lengths = QLineEdit("64,128,256,512")
        self.lengths.setToolTip(FopeEvalParams.info("lengths").help)
        ev.addRow("Eval lengths", self.lengths)
        tl.addLayout(ev)
        v.addWidget(train)
        self.controls = RunControls(self.context, start_text="Train side by side")
        self.controls.start_requested.connect(self.start)
        v.addWidget(self.controls)
        v.addStretch(1)
        area = scrollable(box, 340)
        area.setMaximumWidth(430)
        return area

    def _views(self) -> QWidget:
        self.tabs = QTabWidget()
        self.loss_plot = CurvePlot("training loss (live)", "step", "cross-entropy (nats / char)")
        self.tabs.addTab(self.loss_plot, "Loss")
        length = QWidget()
        ll = QVBoxLayout(length)
        plots = QHBoxLayout()
        self.ppl_plot = LengthPlot("held-out perplexity (mean ± std)", "perplexity", logy=True)
        self.recall_plot = LengthPlot("key-value recall (all 4 digits)", "accuracy")
        self.recall_plot.setYRange(0, 1.05)
        self.recall_plot.enableAutoRange(axis="y", enable=False)
        plots.addWidget(self.ppl_plot, 1)
        plots.addWidget(self.recall_plot, 1)
        ll.addLayout(plots, 3)
        self.table = DictTable()
        ll.addWidget(self.table, 2)
        self.tabs.addTab(length, "Length generalization")
        self.spectrum = SpectrumView()
        self.tabs.addTab(self.spectrum, "Spectrum")
        return self.tabs

    # -- running ----------------------------------------------------------------------------
    def _text_path(self) -> str:
        key = self.source.currentData()
        if key == "file":
            path = self.text_file.value()
            if not path:
                raise ValueError("choose a text file first")
            from backend.positions.data import read_text

            read_text(path)
            return str(Path(path).resolve())
        from backend.positions.corpora import sample_text
        from backend.workspace.atomic import atomic_write_text

        path = self.context.workspace.root / "texts" / f"{key}.txt"
        if not path.exists():
            atomic_write_text(path, sample_text(key))
        return str(path)

    def specs(self) -> list[JobSpec]:
        """One ``fope.train`` spec per checked variant and seed (ValueError names a bad setting)."""
        variants = [n for n, cb in self.variant_boxes.items() if cb.isChecked()]
        if not variants:
            raise ValueError("check at least one variant")
        try:
            seeds = sorted({int(s) for s in self.seeds.text().replace(" ", "").split(",") if s})
        except ValueError:
            raise ValueError(f"seeds {self.seeds.text()!r}: give whole numbers separated by commas") from None
        if not seeds or min(seeds) < 0:
            raise ValueError("give at least one seed (>= 0)")
        lengths = list(FopeEvalParams.from_params({"lengths": self.lengths.text()}).lengths)
        base = self.form.values()
        text = self._text_path()
        out = []
        for variant in variants:
            for seed in seeds:
                params = {**base, "pos": variant, "seed": seed}
                FopeTrainParams.from_params(params)
                out.append(JobSpec("fope.train", params={**params, "eval_lengths": lengths},
                                   inputs={"text": text}, label=f"fope {variant} s{seed}"))
        return out

    def start(self) -> list[str]:
        try:
            specs = self.specs()
        except (ValueError, FileNotFoundError) as exc:
            self.controls.set_error(str(exc))
            return []
        self.results.clear()
        self.labels.clear()
        self.losses.clear()
        self.loss_plot.clear_curves()
        self._redraw_results()
        ids = []
        for spec in specs:
            rid = self.submit(spec)
            self.labels[rid] = f"{spec.params['pos']} s{spec.params['seed']}"
            self.losses[rid] = []
            self.controls.track(rid)
            ids.append(rid)
        return ids

    # -- events and drawing -------------------------------------------------------------------
    def on_event(self, event) -> None:
        if event.type == "metric" and event.data.get("name") == "loss" and event.run_id in self.losses:
            self.losses[event.run_id].append((event.data.get("step") or 0, event.data["value"]))
            self._dirty = True

    def _redraw_losses(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        for rid, pts in self.losses.items():
            if pts:
                self.loss_plot.set_curve(self.labels.get(rid, rid), [p[0] for p in pts], [p[1] for p in pts],
                                         symbol=None)

    def show_runs(self, runs: list[RunRecord]) -> None:
        """Several finished runs drawn together, with one redraw (opening a whole comparison)."""
        for run in runs:
            self.show_run(run, redraw=False)
        self._redraw_results()

    def show_run(self, run: RunRecord, redraw: bool = True) -> None:
        if run.kind == "fope.eval" and run.result:
            self._show_eval(run, redraw)
            return
        if run.kind != "fope.train" or not run.result:
            return
        result = run.result
        if run.id not in self.labels:         # opened from the history: show it with its settings
            self.form.set_values({k: v for k, v in run.spec.params.items() if k not in ("pos", "seed", "eval_lengths")})
            self._restore_text(run.spec.inputs.get("text"))
            self.labels[run.id] = f"{result['pos']} s{result['seed']}"
            series = self.context.workspace.metrics(run.id).get("loss", [])
            self.losses[run.id] = [(s or 0, v) for s, v in series]
            self._dirty = True
        earlier = self.results.get(run.id, {}).get("eval")
        self.results[run.id] = {**result, "eval": earlier} if earlier and not result.get("eval") else result
        if redraw:
            self._redraw_results()

    def _restore_text(self, path: str | None) -> None:
        """Point the text source at a run's text: a built-in sample of this workspace or a file."""
        if not path:
            return
        p = Path(path)
        builtin = p.parent == self.context.workspace.root / "texts" and self.source.findData(p.stem) >= 0
        self.source.setCurrentIndex(self.source.findData(p.stem if builtin else "file"))
        if not builtin:
            self.text_file.set_value(str(p))

    def _show_eval(self, run: RunRecord, redraw: bool) -> None:
        """A separate ``fope eval`` (the CLI's way) joins the training run of the model it measured,
        so the length plots and the table show it as if the panel had evaluated after training."""
        model = Path(str(run.spec.inputs.get("model") or run.result.get("model", ""))).resolve()
        rid = next((k for k, r in self.results.items() if Path(r["model"]).resolve() == model), None)
        if rid is None:
            train = next((r for r in self.context.workspace.list_runs(kind="fope.train", limit=500)
                          if r.status == "succeeded" and r.result
                          and Path(r.result.get("model", "")).resolve() == model), None)
            if train is None:
                self.controls.report(f"{model.name}: no training run of this model in the workspace to compare with.")
                return
            self.show_run(train, redraw=False)
            rid = train.id
        self.results[rid] = {**self.results[rid], "eval": run.result}
        if run.spec.params.get("lengths"):
            lengths = run.spec.params["lengths"]
            self.lengths.setText(lengths if isinstance(lengths, str) else ",".join(str(n) for n in lengths))
        if redraw:
            self._redraw_results()

    def _redraw_results(self) -> None:
        results = list(self.results.values())
        train_len = results[0]["train_len"] if results else None
        self.ppl_plot.set_data(aggregate(results, "perplexity"), train_len)
        self.recall_plot.set_data(aggregate(results, "recall"), train_len)
        rows = []
        for rid, r in self.results.items():
            row = {"run": self.labels.get(rid, rid), "final loss": round(r["final_loss"], 3),
                   "train s": round(r["train_seconds"])}
            for n, v in (r.get("eval") or {}).get("perplexity", {}).items():
                row[f"ppl@{n}"] = round(v, 3)
            for n, v in (r.get("eval") or {}).get("recall", {}).items():
                row[f"recall@{n}"] = round(v, 2)
            rows.append(row)
        self.table.set_rows(rows)
        spectra = {}
        for rid, r in self.results.items():
            path = Path(r["model"]) / "spectrum.json"
            if path.exists():
                spectra[self.labels.get(rid, rid)] = json.loads(path.read_text(encoding="utf-8"))
        self.spectrum.set_spectra(spectra)
        done = [r for r in results if r.get("eval")]
        if done:
            self.controls.report(f"{len(done)} model(s) evaluated.")
