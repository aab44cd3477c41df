"""What every plot offers besides drawing: a legend beside the data, a hover readout, figure
export (PNG/SVG/PDF), EMA smoothing and Wilson intervals for accuracies.

Kept apart from :mod:`app.widgets.plots` (the plot classes) so each module has one job.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QFileDialog, QGraphicsView, QToolButton, QWidget

FIGURE_FILTERS = "PNG image (*.png);;SVG vector image (*.svg);;PDF document (*.pdf)"


# -- numbers --------------------------------------------------------------------------------------
def ema(values: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average with TensorBoard's weight (0 = off, 0.9 = strong) and start-up
    bias correction, so the first points are not pulled towards zero."""
    if weight <= 0:
        return [float(v) for v in values]
    out, acc, norm = [], 0.0, 0.0
    for v in values:
        acc = weight * acc + (1.0 - weight) * float(v)
        norm = weight * norm + (1.0 - weight)
        out.append(acc / norm)
    return out


def wilson_interval(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95 % by default): sound at 0 and 1 and for small
    n, where the normal approximation gives intervals outside [0, 1]."""
    if n <= 0:
        return (0.0, 1.0)
    p = min(1.0, max(0.0, successes / n))
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


# -- the legend beside the plot --------------------------------------------------------------------
class SideLegend(pg.LegendItem):
    """A legend that lives in the plot's layout, in a column right of the axes, so it never covers
    data. Its size is its content's; anchoring calls from older code are ignored."""

    def __init__(self) -> None:
        super().__init__(offset=None, verSpacing=-4, labelTextSize="9pt")
        self.setSizePolicy(pg.QtWidgets.QSizePolicy.Policy.Fixed, pg.QtWidgets.QSizePolicy.Policy.Fixed)

    def updateSize(self) -> None:
        width = height = 0.0
        for row in range(self.layout.rowCount()):
            row_w = row_h = 0.0
            for col in range(self.layout.columnCount()):
                item = self.layout.itemAt(row, col)
                if item:
                    row_w += item.width() + 3
                    row_h = max(row_h, item.height())
            width, height = max(width, row_w), height + row_h
        width = width + 8 if self.items else 0
        height = height + 6 if self.items else 0  # room for the text descent
        self.setMinimumWidth(width)
        self.setMaximumWidth(width)
        self.setMinimumHeight(height)
        self.setMaximumHeight(height)
        self.updateGeometry()

    def setOffset(self, offset) -> None:
        pass

    def anchor(self, *args, **kwargs) -> None:
        pass

    def set_text_color(self, color: QColor) -> None:
        self.opts["labelTextColor"] = color
        for _sample, label in self.items:
            label.setText(label.text, color=color)


def install_side_legend(plot_item: pg.PlotItem) -> SideLegend:
    """Give ``plot_item`` a :class:`SideLegend` (items added with a name join it)."""
    legend = SideLegend()
    plot_item.layout.addItem(legend, 2, 3, alignment=Qt.AlignmentFlag.AlignTop)
    plot_item.legend = legend
    legend.below = False
    return legend


def place_legend(plot_item: pg.PlotItem, width: int) -> None:
    """Right of the data in a wide plot; under the x axis, in columns, in a narrow one (where a
    column of names would squeeze the data or be cut off)."""
    legend = plot_item.legend
    if not isinstance(legend, SideLegend):
        return
    below = width < 560
    # two columns under the data when they fit the width: one column of many names would take
    # the height of a short plot (the compression plots at 1280x720 kept no room for curves)
    columns = 2 if below and (width >= 420 or len(legend.items) > 3) else 1
    if columns == 2 and _columns_width(legend, 2) > width - 16:
        columns = 1
    if below == legend.below and columns == legend.columnCount:
        return
    if below != legend.below:
        plot_item.layout.removeItem(legend)
        if below:   # under the axis too: the whole width of the plot
            plot_item.layout.addItem(legend, 4, 0, 1, 2, alignment=Qt.AlignmentFlag.AlignHCenter)
        else:
            plot_item.layout.addItem(legend, 2, 3, alignment=Qt.AlignmentFlag.AlignTop)
        legend.below = below
    legend.setColumnCount(columns)
    legend.updateSize()


def _columns_width(legend: SideLegend, columns: int) -> float:
    """The width ``legend`` takes laid out in ``columns`` columns (its widest name per column)."""
    widths = [20 + label.item.boundingRect().width() + 6 for _sample, label in legend.items]
    return sum(max(widths[c::columns] or [0.0]) for c in range(columns)) + 8   # filled row by row


def elided_title(title: str, width: int) -> str:
    """``title`` cut with an ellipsis to ``width`` pixels, measured in the title's font (pyqtgraph's
    11 pt): a title label never shrinks below its text, so a longer title widens the plot past its
    widget and cuts off the right side of the data."""
    from PySide6.QtGui import QFont, QFontMetrics

    font = QFont()
    font.setPointSizeF(11)
    return QFontMetrics(font).elidedText(title, Qt.TextElideMode.ElideRight, max(40, int(width)))


def title_room(plot_item: pg.PlotItem, width: int) -> int:
    """The pixels a title has over the data column of ``plot_item`` in a widget ``width`` wide:
    less the left axis and a legend beside the data."""
    axis = plot_item.getAxis("left")
    used = (int(axis.width()) if axis.isVisible() else 0) + 24
    legend = getattr(plot_item, "legend", None)
    if isinstance(legend, SideLegend) and not legend.below:
        used += int(legend.minimumWidth())
    return width - used


# -- hover readout ---------------------------------------------------------------------------------
class HoverReadout:
    """Shows the data point nearest the mouse (within 20 px): its series, x and y."""

    def __init__(self, plot_item: pg.PlotItem, fmt=None) -> None:
        self.plot_item = plot_item
        self.fmt = fmt or (lambda name, x, y: f"{name}\nx = {x:.4g}\ny = {y:.4g}")
        self.text = pg.TextItem("", anchor=(0, 1), border=pg.mkPen(120, 120, 120), fill=pg.mkBrush(255, 255, 255, 220),
                                color=(20, 20, 20))
        self.dot = pg.ScatterPlotItem(size=11, pen=pg.mkPen(20, 20, 20, width=1.5), brush=pg.mkBrush(0, 0, 0, 0))
        for item in (self.text, self.dot):
            item.setZValue(1000)
            item.setVisible(False)
            plot_item.addItem(item, ignoreBounds=True)
        self.last: tuple[str, float, float] | None = None
        plot_item.scene().sigMouseMoved.connect(self._moved)

    def _series(self):
        for item in self.plot_item.listDataItems():
            if item is self.dot or not item.isVisible():
                continue
            x, y = item.getData()
            if x is not None and len(x):
                yield item.name() or "", np.asarray(x, float), np.asarray(y, float)

    def nearest(self, scene_pos) -> tuple[str, float, float] | None:
        vb = self.plot_item.vb
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        best, best_d = None, 20.0
        for name, xs, ys in self._series():
            px = [vb.mapViewToScene(pg.Point(x, y)) for x, y in zip(xs, ys) if np.isfinite(x) and np.isfinite(y)]
            for (x, y), p in zip([(x, y) for x, y in zip(xs, ys) if np.isfinite(x) and np.isfinite(y)], px):
                d = math.hypot(p.x() - scene_pos.x(), p.y() - scene_pos.y())
                if d < best_d:
                    best, best_d = (name, float(x), float(y)), d
        return best

    def _moved(self, scene_pos) -> None:
        hit = self.nearest(scene_pos)
        self.last = hit
        self.text.setVisible(hit is not None)
        self.dot.setVisible(hit is not None)
        if hit is None:
            return
        name, x, y = hit
        log_x = self.plot_item.ctrl.logXCheck.isChecked()
        self.text.setText(self.fmt(name, x, y))
        self.text.setPos(math.log10(x) if log_x and x > 0 else x, y)
        self.dot.setData([x], [y])


# -- export ----------------------------------------------------------------------------------------
def export_figure(view: QGraphicsView, path: str | Path, scale: float = 2.0) -> Path:
    """Write what ``view`` shows to ``path``: PNG (``scale`` × its pixels), SVG or PDF (vector).
    The format follows the suffix; anything else is refused with a ValueError."""
    path = Path(path)
    suffix = path.suffix.lower()
    size = view.viewport().size()
    source = QRectF(view.mapToScene(view.viewport().rect()).boundingRect())
    if suffix == ".png":
        image = QImage(size * scale, QImage.Format.Format_ARGB32)
        image.fill(view.backgroundBrush().color())
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        view.scene().render(painter, QRectF(image.rect()), source)
        painter.end()
        if not image.save(str(path)):
            raise OSError(f"{path}: could not be written")
    elif suffix == ".svg":
        from PySide6.QtSvg import QSvgGenerator

        gen = QSvgGenerator()
        gen.setFileName(str(path))
        gen.setSize(QSize(size.width(), size.height()))
        gen.setViewBox(QRectF(0, 0, size.width(), size.height()))
        gen.setTitle(view.window().windowTitle() or "Benchtop figure")
        painter = QPainter(gen)
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), view.backgroundBrush())
        view.scene().render(painter, QRectF(0, 0, size.width(), size.height()), source)
        painter.end()
    elif suffix == ".pdf":
        from PySide6.QtCore import QMarginsF, QSizeF
        from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter

        writer = QPdfWriter(str(path))
        writer.setResolution(96)
        writer.setPageLayout(QPageLayout(QPageSize(QSizeF(size.width(), size.height()), QPageSize.Unit.Point),
                                         QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
        painter = QPainter(writer)
        target = QRectF(painter.viewport())
        painter.fillRect(target, view.backgroundBrush())
        view.scene().render(painter, target, source)
        painter.end()
    else:
        raise ValueError(f"{path.name}: choose a .png, .svg or .pdf file name")
    return path


def ask_export_figure(view: QGraphicsView, name: str = "figure") -> Path | None:
    """The "Export figure…" dialog; returns the file written (None when cancelled)."""
    path, chosen = QFileDialog.getSaveFileName(view, "Export figure", f"{name}.png", FIGURE_FILTERS)
    if not path:
        return None
    if not Path(path).suffix:
        path += {"SVG": ".svg", "PDF": ".pdf"}.get(chosen[:3], ".png")
    return export_figure(view, path)


def add_export_button(view: QGraphicsView, name_getter) -> QToolButton:
    """A small "Export…" button in the view's top-right corner (kept there on resize)."""
    button = QToolButton(view)
    button.setText("Export…")
    button.setToolTip("Export figure as PNG, SVG or PDF")
    button.setAutoRaise(True)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setStyleSheet("QToolButton { font-size: 8pt; padding: 1px 4px; color: palette(mid); }"
                         "QToolButton:hover { color: palette(text); }")
    button.clicked.connect(lambda: ask_export_figure(view, name_getter()))
    button.adjustSize()
    return button


def place_corner(view: QWidget, button: QToolButton) -> None:
    """Bottom-left corner: below the y-axis labels, where titles and legends never are."""
    button.move(2, view.height() - button.height() - 2)
    button.raise_()


def safe_name(title: str) -> str:
    keep = "".join(c if c.isalnum() else "_" for c in (title or "figure").lower()).strip("_")
    return "_".join(filter(None, keep.split("_")))[:60] or "figure"
