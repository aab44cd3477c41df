"""Plot views built on pyqtgraph, themed to match the app: curves, grouped bars, heatmaps.

Panels use these rather than raw pyqtgraph so every plot has the same axes, legend and colours.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

# A colour-blind-safe palette (Okabe–Ito), cycled for series.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def series_color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def add_legend(plot: pg.PlotWidget) -> pg.LegendItem:
    """A legend at the top left on a translucent patch of the theme's plot background (set before
    panels are built), so curves under it stay readable."""
    legend = plot.addLegend(offset=(10, 10))
    bg = plot.backgroundBrush().color()
    legend.setBrush(pg.mkBrush(bg.red(), bg.green(), bg.blue(), 200))
    return legend


class CurvePlot(pg.PlotWidget):
    """Named curves with a legend; ``set_curve`` adds or replaces one (cheap enough for live data)."""

    def __init__(self, title: str = "", xlabel: str = "", ylabel: str = "", logx: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setTitle(title)
        self.setLabel("bottom", xlabel)
        self.setLabel("left", ylabel)
        self.showGrid(x=True, y=True, alpha=0.25)
        self.setLogMode(x=logx, y=False)
        add_legend(self)
        for axis in ("left", "bottom"):
            self.getAxis(axis).enableAutoSIPrefix(False)
        self._curves: dict[str, pg.PlotDataItem] = {}
        self.setMinimumHeight(180)

    def set_curve(self, name: str, x: Sequence[float], y: Sequence[float], symbol: str | None = "o",
                  dashed: bool = False) -> pg.PlotDataItem:
        color = series_color(list(self._curves).index(name) if name in self._curves else len(self._curves))
        pen = pg.mkPen(color, width=2, style=pg.QtCore.Qt.PenStyle.DashLine if dashed else pg.QtCore.Qt.PenStyle.SolidLine)
        kwargs = dict(pen=pen, symbol=symbol, symbolSize=6, symbolBrush=color, symbolPen=color)
        if name in self._curves:
            self._curves[name].setData(list(x), list(y))
        else:
            self._curves[name] = self.plot(list(x), list(y), name=name, **kwargs)
        return self._curves[name]

    def clear_curves(self) -> None:
        for item in self._curves.values():
            self.removeItem(item)
        self._curves.clear()
        legend = self.plotItem.legend
        if legend is not None:
            legend.clear()

    def curve_names(self) -> list[str]:
        return list(self._curves)


class GroupedBarChart(pg.PlotWidget):
    """Bars grouped by category (x) with one colour per series, e.g. accuracy per task per model."""

    def __init__(self, title: str = "", ylabel: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setTitle(title)
        self.setLabel("left", ylabel)
        self.showGrid(y=True, alpha=0.25)
        add_legend(self)
        self.getAxis("left").enableAutoSIPrefix(False)
        self.setMinimumHeight(180)

    def set_data(self, categories: Sequence[str], series: dict[str, Sequence[float]]) -> None:
        self.clear()
        legend = self.plotItem.legend
        if legend is not None:
            legend.clear()
        n = max(1, len(series))
        width = 0.8 / n
        for i, (name, values) in enumerate(series.items()):
            x = np.arange(len(categories)) - 0.4 + width * (i + 0.5)
            bars = pg.BarGraphItem(x=x, height=list(values), width=width * 0.95, brush=series_color(i), name=name)
            self.addItem(bars)  # named items join the legend by themselves
        self.getAxis("bottom").setTicks([list(enumerate(categories))])


class Heatmap(pg.GraphicsLayoutWidget):
    """A labelled matrix image with a colour bar (rows × columns), e.g. a per-layer statistic."""

    def __init__(self, title: str = "", colormap: str = "viridis", parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.plot = self.addPlot(title=title)
        self.image = pg.ImageItem()
        self.plot.addItem(self.image)
        self.plot.invertY(True)
        self.cmap = pg.colormap.get(colormap)
        self.bar = pg.ColorBarItem(colorMap=self.cmap, interactive=False, width=12)
        self.bar.setImageItem(self.image, insert_in=self.plot)
        self.setMinimumHeight(200)

    def set_matrix(self, matrix: np.ndarray, row_labels: Sequence[str] = (), col_labels: Sequence[str] = (),
                   levels: tuple[float, float] | None = None) -> None:
        m = np.asarray(matrix, dtype=float)
        self.image.setImage(m.T, autoLevels=levels is None)  # ImageItem is column-major (x, y)
        lo, hi = levels if levels is not None else (float(np.nanmin(m)) if m.size else 0.0,
                                                     float(np.nanmax(m)) if m.size else 1.0)
        if hi <= lo:
            hi = lo + 1e-9
        self.bar.setLevels((lo, hi))
        if row_labels:
            step = max(1, len(row_labels) // 24)
            self.plot.getAxis("left").setTicks([[(i + 0.5, str(t)) for i, t in enumerate(row_labels) if i % step == 0]])
        if col_labels:
            step = max(1, len(col_labels) // 16)
            self.plot.getAxis("bottom").setTicks([[(i + 0.5, str(t)) for i, t in enumerate(col_labels) if i % step == 0]])
