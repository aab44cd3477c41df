"""Views of the position-embeddings panel: curves with mean ± std over seeds, and the spectrum."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.widgets.plots import CurvePlot, Heatmap, series_color

VARIANT_ORDER = ("rope", "fope", "nope", "alibi")


def aggregate(results: Sequence[dict], key: str) -> dict[str, tuple[list[int], list[float], list[float], int]]:
    """variant -> (lengths, mean, std, seeds) of ``result["eval"][key]`` over the runs of that variant."""
    out = {}
    for variant in VARIANT_ORDER:
        evals = [r["eval"][key] for r in results if r.get("pos") == variant and r.get("eval", {}).get(key)]
        if not evals:
            continue
        lengths = sorted({int(n) for e in evals for n in e})
        vals = [[e[str(n)] for e in evals if str(n) in e] for n in lengths]
        out[variant] = (lengths, [float(np.mean(v)) for v in vals], [float(np.std(v)) for v in vals], len(evals))
    return out


class LengthPlot(CurvePlot):
    """A metric against the evaluation length (log2 axis labelled in tokens), mean ± std per variant,
    with the training length marked."""

    def __init__(self, title: str, ylabel: str, logy: bool = False) -> None:
        super().__init__(title, "evaluation length (tokens)", ylabel)
        self.setLogMode(x=False, y=logy)
        self._logy = logy
        self._extra: list = []

    def set_data(self, data: dict, train_len: int | None) -> None:
        self.clear_curves()
        for item in self._extra:
            self.removeItem(item)
        self._extra = []
        ticks = set()
        for i, variant in enumerate(VARIANT_ORDER):
            if variant not in data:
                continue
            lengths, mean, std, seeds = data[variant]
            x = [math.log2(n) for n in lengths]
            ticks.update(lengths)
            self.set_curve(f"{variant} (n={seeds})", x, mean)
            color = series_color(len(self.curve_names()) - 1)
            if seeds > 1:
                y, h = np.array(mean), np.array(std)
                if self._logy:  # error bars live in the plotted (log10) coordinates
                    lo, hi = np.log10(np.maximum(y - h, 1e-9)), np.log10(y + h)
                    bar = pg.ErrorBarItem(x=np.array(x), y=np.log10(y), top=hi - np.log10(y),
                                          bottom=np.log10(y) - lo, beam=0.08, pen=pg.mkPen(color, width=1.5))
                else:
                    bar = pg.ErrorBarItem(x=np.array(x), y=y, height=2 * h, beam=0.08, pen=pg.mkPen(color, width=1.5))
                self.addItem(bar)
                self._extra.append(bar)
            del i
        if train_len:
            pen = pg.mkPen("#888", style=pg.QtCore.Qt.PenStyle.DashLine)
            line = pg.InfiniteLine(pos=math.log2(train_len), angle=90, pen=pen,
                                   label="training length", labelOpts={"position": 0.92, "color": "#888"})
            self.addItem(line)
            self._extra.append(line)
            ticks.add(train_len)
        self.getAxis("bottom").setTicks([[(math.log2(n), str(n)) for n in sorted(ticks)]])
        if self._logy:
            values = [v for d in data.values() for m, sd in zip(d[1], d[2]) for v in (m - sd, m + sd) if v > 0]
            self.getAxis("left").setTicks(_log_ticks(min(values), max(values)) if values else None)


def _log_ticks(lo: float, hi: float) -> list[list[tuple[float, str]]] | None:
    """Labelled ticks for a log10 axis spanning less than a decade (pyqtgraph labels only powers of
    ten there, so a perplexity axis from 13 to 16 showed no numbers); None (automatic) otherwise."""
    if hi / lo >= 10:
        return None
    raw = (hi - lo) / 4 or abs(hi) / 10 or 1.0
    step = min((m * 10 ** math.floor(math.log10(raw)) for m in (1, 2, 5, 10)), key=lambda s: abs(s - raw))
    first = math.floor(lo / step) * step
    ticks = [first + k * step for k in range(int((hi - first) / step) + 2)]
    return [[(math.log10(t), f"{t:g}") for t in ticks if t > 0]]


class SpectrumView(QWidget):
    """Per layer and head: |coefficient| of each rotary pair (rows) on each base frequency (columns).
    RoPE is the identity; FoPE spreads each pair over several frequencies and leaves the clipped
    ones (right of the dashed line, period longer than the training length) empty."""

    def __init__(self) -> None:
        super().__init__()
        self.spectra: dict[str, dict] = {}
        self.run_box, self.layer_box, self.head_box = QComboBox(), QComboBox(), QComboBox()
        self.run_box.setToolTip("which trained model's position embedding to show")
        row = QHBoxLayout()
        for label, box in (("Model", self.run_box), ("Layer", self.layer_box), ("Head", self.head_box)):
            row.addWidget(QLabel(label))
            row.addWidget(box, 2 if box is self.run_box else 0)
        row.addStretch(1)
        self.heatmap = Heatmap("", colormap="viridis")
        self.note = QLabel("Train a model to see which frequencies each rotary pair carries.")
        self.note.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.heatmap, 1)
        lay.addWidget(self.note)
        self._floor_line = pg.InfiniteLine(pos=0, angle=90,
                                           pen=pg.mkPen("#e04040", width=2, style=pg.QtCore.Qt.PenStyle.DashLine))
        self._floor_line.setVisible(False)       # one marker, moved and shown as needed
        self.heatmap.plot.addItem(self._floor_line)
        self._pinned = False       # the user picked a model: keep it when more runs arrive
        self.run_box.activated.connect(lambda _: setattr(self, "_pinned", True))
        self.run_box.currentTextChanged.connect(self._run_changed)
        self.layer_box.currentIndexChanged.connect(self._draw)
        self.head_box.currentIndexChanged.connect(self._draw)

    def set_spectra(self, spectra: dict[str, dict]) -> None:
        current = self.run_box.currentText()
        self.spectra = dict(spectra)
        self.run_box.blockSignals(True)
        self.run_box.clear()
        self.run_box.addItems(list(self.spectra))
        self.run_box.blockSignals(False)
        fope = [k for k, s in self.spectra.items() if s.get("kind") == "fope"]
        if current in self.spectra and (self._pinned or current in fope):
            self.run_box.setCurrentText(current)
        elif fope:                   # FoPE is the picture worth showing first
            self.run_box.setCurrentText(fope[0])
        if not self.spectra:
            self._pinned = False
        self._run_changed(self.run_box.currentText())

    def _run_changed(self, name: str) -> None:
        spec = self.spectra.get(name)
        for box in (self.layer_box, self.head_box):
            box.blockSignals(True)
            box.clear()
        if spec and spec["layers"]:
            self.layer_box.addItems([str(i) for i in range(len(spec["layers"]))])
            self.head_box.addItems([str(i) for i in range(len(spec["layers"][0]["energy"]))])
        for box in (self.layer_box, self.head_box):
            box.blockSignals(False)
        self._draw()

    def _draw(self) -> None:
        spec = self.spectra.get(self.run_box.currentText())
        self._floor_line.setVisible(False)
        if not spec or not spec["layers"]:
            self.heatmap.set_matrix(np.zeros((1, 1)))
            return
        layer = spec["layers"][max(0, self.layer_box.currentIndex())]
        grid = np.array(layer["energy"][max(0, self.head_box.currentIndex())])
        kept = set(layer["kept"])
        inv = spec.get("inv_freq") or []
        cols = [f"ω{j}{'' if j in kept else ' ✂'}" for j in range(grid.shape[1])]
        rows = [f"pair {i}" for i in range(grid.shape[0])]
        self.heatmap.set_matrix(grid, rows, cols, levels=(0.0, 1.0))
        self.heatmap.plot.setLabel("bottom", "base frequency ω_j = θ^(-2j/d)  (✂ = clipped to zero)")
        self.heatmap.plot.setLabel("left", "rotary pair (output dimension)")
        kind = spec.get("kind", "rope")
        if spec.get("floor") and kept and len(kept) < grid.shape[1]:
            self._floor_line.setValue(max(kept) + 1)
            self._floor_line.setVisible(True)
        self.heatmap.plot.setTitle(f"{self.run_box.currentText()}: layer {self.layer_box.currentIndex()}, "
                                   f"head {self.head_box.currentIndex()}  (|coefficient|, cos and sin averaged)")
        if kind == "fope":
            floor = spec.get("floor")
            floor_txt = f"ω ≥ 2π/L = {floor:.4f}" if floor else "no clipping"
            periods = ", ".join(f"{2 * math.pi / inv[j]:.0f}" for j in sorted(kept)[:8]) if inv else ""
            self.note.setText(
                f"FoPE keeps {layer['d_in']} of {grid.shape[1]} base frequencies ({floor_txt}; periods in tokens: "
                f"{periods}). {layer['d_out']} pair(s) carry position, each a Fourier series: its own frequency "
                f"(bright diagonal) plus small weights on the other kept ones. Pairs below carry only the zero "
                f"frequency. Columns right of the red line were clipped: their period is longer than the "
                f"training length, so they never completed a cycle in training.")
        elif kind == "rope":
            self.note.setText("RoPE: every pair carries exactly one frequency (the diagonal), including the low "
                              "ones whose period is longer than the training length — the under-trained "
                              "components that FoPE clips.")
        else:
            self.note.setText(f"{kind.upper()}: no rotary frequencies (position enters "
                              f"{'as a linear distance bias' if kind == 'alibi' else 'only through the causal mask'}).")
