"""Plot views built on pyqtgraph, themed to match the app: curves, grouped bars, heatmaps.

Panels use these rather than raw pyqtgraph so every plot has the same look and tools: the legend
in a column beside the data (never over it), a hover readout of the nearest point, an
"Export…" button (PNG/SVG/PDF), EMA smoothing for noisy training curves, and accuracy axes on
one convention (0–1, Wilson 95 % intervals, n in the axis label).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QFont, QResizeEvent
from PySide6.QtWidgets import QWidget

from app.widgets.plot_tools import (
    HoverReadout,
    SideLegend,
    add_export_button,
    elided_title,
    ema,
    install_side_legend,
    place_corner,
    place_legend,
    safe_name,
    title_room,
    wilson_interval,
)

# A colour-blind-safe palette (Okabe–Ito), cycled for series.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
ACCURACY_LABEL = "accuracy (0–1)"


def series_color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def add_legend(plot: pg.PlotWidget) -> SideLegend:
    """The legend of ``plot``, in a column right of its axes so it never covers data."""
    return install_side_legend(plot.getPlotItem())


def accuracy_axis(plot: pg.PlotWidget, n: int | None = None, what: str = "accuracy") -> None:
    """Fix the y axis to 0–1 (the one accuracy convention of the app) and name n in its label."""
    plot.setYRange(0, 1.0, padding=0.02)
    plot.setLabel("left", f"{what} (0–1)" + (f", n = {n}" if n else ""))


def _theme_colors() -> tuple[QColor, QColor]:
    return pg.mkColor(pg.getConfigOption("background")), pg.mkColor(pg.getConfigOption("foreground"))


def restyle_plot_item(item: pg.PlotItem) -> None:
    """Re-apply the current theme's foreground to axes, title and legend of ``item``."""
    _bg, fg = _theme_colors()
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(fg)
        axis.setTextPen(fg)
        if axis.labelText:
            axis.setLabel(axis.labelText, axis.labelUnits, **{**axis.labelStyle, "color": fg.name()})
    if item.titleLabel.text:
        item.titleLabel.setText(item.titleLabel.text, color=fg)
    if isinstance(item.legend, SideLegend):
        item.legend.set_text_color(fg)


def restyle_plots(root: QWidget) -> int:
    """Repaint every pyqtgraph view under ``root`` in the current theme; returns how many."""
    bg, _fg = _theme_colors()
    views = [w for w in [root, *root.findChildren(pg.GraphicsView)] if isinstance(w, pg.GraphicsView)]
    for view in views:
        view.setBackground(bg)
        items = [view.getPlotItem()] if isinstance(view, pg.PlotWidget) else \
            [i for i in getattr(getattr(view, "ci", None), "items", {}) if isinstance(i, pg.PlotItem)]
        for item in items:
            restyle_plot_item(item)
    return len(views)


def mark_stale(root: QWidget, stale: bool) -> int:
    """Grey every plot under ``root`` while a new run is on its way (so the previous run's
    pictures cannot pass for the new one's), or restore them; returns how many."""
    from PySide6.QtWidgets import QGraphicsOpacityEffect

    views = [w for w in [root, *root.findChildren(pg.GraphicsView)] if isinstance(w, pg.GraphicsView)]
    for view in views:
        if stale:
            effect = QGraphicsOpacityEffect(view)
            effect.setOpacity(0.35)
            view.setGraphicsEffect(effect)
            view.setToolTip("from the previous run; the new run's results replace it when it finishes")
        elif view.graphicsEffect() is not None:
            view.setGraphicsEffect(None)
            view.setToolTip("")
    return len(views)


class _ExportCorner:
    """Mixin: an "Export…" button in the top-right corner of a pyqtgraph view."""

    def _init_export(self, title: str) -> None:
        self._export_name = safe_name(title)
        self.export_button = add_export_button(self, lambda: self._export_name)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        button = self.__dict__.get("export_button")  # resizeEvent runs inside pyqtgraph's __init__
        if button is not None:
            place_corner(self, button)
            item = self.getPlotItem() if isinstance(self, pg.PlotWidget) else None
            if item is not None:  # None once the widget is closed
                place_legend(item, self.width())


class FittingTitle:
    """Mixin for a ``pg.PlotWidget``: its title is elided to the width over the data (full text in
    the tooltip), so a long title never widens the plot past its widget and cuts off the data's
    right side; the export file name follows the full title."""

    def setTitle(self, title: str | None = None) -> None:
        self._full_title = title or ""
        item = self.getPlotItem()
        item.setTitle(elided_title(self._full_title, title_room(item, self.width())) if title else None)
        item.titleLabel.item.setToolTip(self._full_title)
        self._export_name = safe_name(self._full_title)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)            # first the legend's place (beside or under the data)
        item = self.getPlotItem()
        if item is None:                      # None once the widget is closed
            return
        title = self.__dict__.get("_full_title")
        if title:
            shown = elided_title(title, title_room(item, self.width()))
            if shown != item.titleLabel.text:
                item.setTitle(shown)
        # lay the plot out again: pyqtgraph sized it before the legend moved under the data and
        # the title was shortened, and a plot never shrinks below its parts, so it would stay
        # wider than the widget with the right of the data cut off
        item.setGeometry(QRectF(0, 0, self.width(), self.height()))


class CurvePlot(FittingTitle, _ExportCorner, pg.PlotWidget):
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
        self._raw: dict[str, tuple[list[float], list[float]]] = {}
        self._faint: dict[str, pg.PlotDataItem] = {}
        self._bars: dict[str, pg.ErrorBarItem] = {}
        self.smoothing = 0.0
        self.hover = HoverReadout(self.getPlotItem())
        self.setMinimumHeight(150)
        self._init_export(title)

    def set_curve(self, name: str, x: Sequence[float], y: Sequence[float], symbol: str | None = "o",
                  dashed: bool = False, n: int | Sequence[int] | None = None) -> pg.PlotDataItem:
        """Add or replace a curve. ``n`` (accuracies only): the number of trials behind each y, drawn
        as Wilson 95 % interval bars."""
        color = series_color(list(self._curves).index(name) if name in self._curves else len(self._curves))
        x, y = [float(v) for v in x], [float(v) for v in y]
        self._raw[name] = (x, y)
        shown = ema(y, self.smoothing) if self.smoothing else y
        style = pg.QtCore.Qt.PenStyle.DashLine if dashed else pg.QtCore.Qt.PenStyle.SolidLine
        pen = pg.mkPen(color, width=2, style=style)
        kwargs = {"pen": pen, "symbol": symbol, "symbolSize": 6, "symbolBrush": color, "symbolPen": color}
        if name in self._curves:
            self._curves[name].setData(x, shown)
        else:
            self._curves[name] = self.plot(x, shown, name=name, **kwargs)
            item = self.getPlotItem()
            place_legend(item, self.width())   # more names may need more columns
            if self.isVisible():                 # and a plot never narrower than its legend: re-fit
                item.setGeometry(QRectF(0, 0, self.width(), self.height()))
        self._update_faint(name, color)
        if n is not None:
            self._set_interval(name, x, y, n, color)
        return self._curves[name]

    def _update_faint(self, name: str, color: str) -> None:
        """With smoothing on, the raw values stay visible as a faint line under the smoothed one."""
        x, y = self._raw[name]
        if self.smoothing and name not in self._faint:
            c = pg.mkColor(color)
            c.setAlpha(70)
            self._faint[name] = self.plot(x, y, pen=pg.mkPen(c, width=1))
            self._faint[name].setZValue(-1)
        elif name in self._faint:
            if self.smoothing:
                self._faint[name].setData(x, y)
            else:
                self.removeItem(self._faint.pop(name))

    def _set_interval(self, name: str, x: list[float], y: list[float], n, color: str) -> None:
        ns = [int(n)] * len(y) if np.isscalar(n) else [int(v) for v in n]
        lo_hi = [wilson_interval(v * k, k) for v, k in zip(y, ns)]
        top = np.array([hi - v for v, (_lo, hi) in zip(y, lo_hi)])
        bottom = np.array([v - lo for v, (lo, _hi) in zip(y, lo_hi)])
        xs = np.log10(np.maximum(x, 1e-300)) if self.getPlotItem().ctrl.logXCheck.isChecked() else np.array(x)
        if name in self._bars:
            self._bars[name].setData(x=xs, y=np.array(y), top=top, bottom=bottom)
        else:
            self._bars[name] = pg.ErrorBarItem(x=xs, y=np.array(y), top=top, bottom=bottom, beam=0.0,
                                               pen=pg.mkPen(color, width=1.2))
            self.addItem(self._bars[name])

    def set_smoothing(self, weight: float) -> None:
        """EMA weight 0–0.99 for every curve (0 turns it off); the raw values stay faint behind."""
        self.smoothing = max(0.0, min(0.99, float(weight)))
        for i, (name, (x, y)) in enumerate(list(self._raw.items())):
            self._curves[name].setData(x, ema(y, self.smoothing) if self.smoothing else y)
            self._update_faint(name, series_color(i))

    def clear_curves(self) -> None:
        for item in [*self._curves.values(), *self._faint.values(), *self._bars.values()]:
            self.removeItem(item)
        self._curves.clear()
        self._faint.clear()
        self._bars.clear()
        self._raw.clear()
        legend = self.plotItem.legend
        if legend is not None:
            legend.clear()

    def curve_names(self) -> list[str]:
        return list(self._curves)


class GroupedBarChart(FittingTitle, _ExportCorner, pg.PlotWidget):
    """Bars grouped by category (x) with one colour per series, e.g. accuracy per task per model."""

    def __init__(self, title: str = "", ylabel: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setTitle(title)
        self.setLabel("left", ylabel)
        self.showGrid(y=True, alpha=0.25)
        add_legend(self)
        self.getAxis("left").enableAutoSIPrefix(False)
        self.setMinimumHeight(150)
        self.hover = HoverReadout(self.getPlotItem(), fmt=lambda name, x, y: f"{name}\n{y:.4g}")
        self._items: list = []
        self._init_export(title)

    def set_data(self, categories: Sequence[str], series: dict[str, Sequence[float]],
                 n: int | None = None) -> None:
        """One bar per (category, series). ``n``: trials behind each value (accuracies), drawn as
        Wilson 95 % intervals."""
        for item in self._items:
            self.removeItem(item)
        self._items = []
        legend = self.plotItem.legend
        if legend is not None:
            legend.clear()
        count = max(1, len(series))
        width = 0.8 / count
        for i, (name, values) in enumerate(series.items()):
            x = np.arange(len(categories)) - 0.4 + width * (i + 0.5)
            heights = [float(v) for v in values]
            bars = pg.BarGraphItem(x=x, height=heights, width=width * 0.95, brush=series_color(i), name=name)
            tops = pg.PlotDataItem(x, heights, pen=None, symbol=None)  # feeds the hover readout
            self._items += [bars, tops]
            if n:
                lo_hi = [wilson_interval(v * n, n) for v in heights]
                self._items.append(pg.ErrorBarItem(
                    x=x, y=np.array(heights), top=np.array([hi - v for v, (_l, hi) in zip(heights, lo_hi)]),
                    bottom=np.array([v - lo for v, (lo, _h) in zip(heights, lo_hi)]), beam=width * 0.3,
                    pen=pg.mkPen(pg.getConfigOption("foreground"), width=1)))
        for item in self._items:
            self.addItem(item)  # named bars join the legend by themselves
        self.getAxis("bottom").setTicks([list(enumerate(categories))])


class Heatmap(_ExportCorner, pg.GraphicsLayoutWidget):
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
        font = QFont()
        font.setPointSize(9)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setStyle(tickFont=font)
            self.plot.getAxis(axis).setTicks([[]])   # no numbers around an empty map
        self.setMinimumHeight(200)
        self.matrix = np.zeros((0, 0))
        self.row_labels: list[str] = []
        self.col_labels: list[str] = []
        self.readout = pg.TextItem("", anchor=(0, 1), fill=pg.mkBrush(255, 255, 255, 220), color=(20, 20, 20))
        self.readout.setZValue(1000)
        self.plot.addItem(self.readout, ignoreBounds=True)
        self.readout.setVisible(False)
        self.scene().sigMouseMoved.connect(self._hover)
        self._init_export(title)

    def set_matrix(self, matrix: np.ndarray, row_labels: Sequence[str] = (), col_labels: Sequence[str] = (),
                   levels: tuple[float, float] | None = None) -> None:
        m = np.asarray(matrix, dtype=float)
        self.matrix, self.row_labels, self.col_labels = m, [str(t) for t in row_labels], [str(t) for t in col_labels]
        self.image.setImage(m.T, autoLevels=levels is None)  # ImageItem is column-major (x, y)
        lo, hi = levels if levels is not None else (float(np.nanmin(m)) if m.size else 0.0,
                                                     float(np.nanmax(m)) if m.size else 1.0)
        if hi <= lo:
            hi = lo + 1e-9
        self.bar.setLevels((lo, hi))
        for axis, labels in (("left", self.row_labels), ("bottom", self.col_labels)):
            if not labels:                       # unlabelled: numbered cells, or nothing when empty
                self.plot.getAxis(axis).setTicks(None if m.size else [[]])
        self._label_axes()

    def _label_axes(self) -> None:
        """As many tick labels as fit without overlapping (about one per 16 px of height and per
        label width across); the hover readout names every cell."""
        height = max(100, self.plot.vb.height() or self.height() - 60)
        width = max(100, self.plot.vb.width() or self.width() - 100)
        if self.row_labels:
            step = max(1, int(np.ceil(len(self.row_labels) * 16 / height)))
            self.plot.getAxis("left").setTicks([[(i + 0.5, t) for i, t in enumerate(self.row_labels) if i % step == 0]])
        if self.col_labels:
            longest = max(len(t) for t in self.col_labels)
            step = max(1, int(np.ceil(len(self.col_labels) * (7 * longest + 10) / width)))
            ticks = [(i + 0.5, t) for i, t in enumerate(self.col_labels) if i % step == 0]
            self.plot.getAxis("bottom").setTicks([ticks])

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if getattr(self, "matrix", np.zeros(0)).size:
            self._label_axes()

    def cell_at(self, scene_pos) -> tuple[int, int] | None:
        if not self.plot.vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.plot.vb.mapSceneToView(scene_pos)
        r, c = int(np.floor(p.y())), int(np.floor(p.x()))
        return (r, c) if 0 <= r < self.matrix.shape[0] and 0 <= c < self.matrix.shape[1] else None

    def _hover(self, scene_pos) -> None:
        cell = self.cell_at(scene_pos) if self.matrix.size else None
        self.readout.setVisible(cell is not None)
        if cell is None:
            return
        r, c = cell
        row = self.row_labels[r] if r < len(self.row_labels) else str(r)
        col = self.col_labels[c] if c < len(self.col_labels) else str(c)
        self.readout.setText(f"{row} · {col}\n{self.matrix[r, c]:.4g}")
        self.readout.setPos(c + 0.5, r + 0.5)
