"""Issue #18 plot and table tools: legends beside the data, hover readout, figure and table
export, Ctrl+C, EMA smoothing and Wilson intervals."""
from __future__ import annotations

import csv
import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from app.widgets.plot_tools import ema, export_figure, wilson_interval
from app.widgets.plots import CurvePlot, GroupedBarChart, accuracy_axis
from app.widgets.tables import DictTable


def _shown(qtbot, widget, w=640, h=360):
    qtbot.addWidget(widget)
    widget.resize(w, h)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait(50)
    return widget


def test_legend_sits_beside_the_data_not_over_it(qtbot):
    p = _shown(qtbot, CurvePlot("acc", "N", "accuracy"))
    for name in ("Best-of-N", "majority vote", "weighted Best-of-N"):
        p.set_curve(name, [1, 2, 4], [0.2, 0.6, 0.9])
    qtbot.wait(50)
    legend, data = p.plotItem.legend.sceneBoundingRect(), p.plotItem.vb.sceneBoundingRect()
    assert legend.width() > 20 and legend.height() > 20
    assert legend.left() >= data.right() - 1  # beside the view box (sub-pixel rounding allowed)
    p.resize(400, 300)  # narrow: the legend moves under the x axis rather than squeezing the data
    qtbot.wait(50)
    legend, data = p.plotItem.legend.sceneBoundingRect(), p.plotItem.vb.sceneBoundingRect()
    assert legend.top() >= data.bottom() - 1 and legend.right() <= p.width()
    b = _shown(qtbot, GroupedBarChart("per task", "exact match"))
    b.set_data(["add", "sub"], {"base": [0.1, 0.2], "merged": [0.9, 0.8]}, n=50)
    qtbot.wait(50)
    assert len(b.plotItem.legend.items) == 2
    assert b.plotItem.legend.sceneBoundingRect().left() >= b.plotItem.vb.sceneBoundingRect().right() - 1


def test_hover_reads_out_the_nearest_point(qtbot):
    import pyqtgraph as pg

    p = _shown(qtbot, CurvePlot("acc", "N", "accuracy"))
    p.set_curve("bon", [1, 2, 4], [0.2, 0.6, 0.9])
    qtbot.wait(50)
    scene = p.plotItem.vb.mapViewToScene(pg.Point(2, 0.6))
    p.hover._moved(scene + pg.Point(3, 2))
    assert p.hover.last == ("bon", 2.0, pytest.approx(0.6))
    assert "bon" in p.hover.text.textItem.toPlainText() and p.hover.text.isVisible()


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_export_figure_writes_each_format(qtbot, tmp_path, suffix):
    p = _shown(qtbot, CurvePlot("acc", "N", "accuracy"))
    p.set_curve("bon", [1, 2, 4], [0.2, 0.6, 0.9])
    path = export_figure(p, tmp_path / f"fig{suffix}")
    data = path.read_bytes()
    assert len(data) > 1000
    if suffix == ".png":
        img = QImage(str(path))
        assert img.width() == 2 * p.viewport().width()
    elif suffix == ".svg":
        assert b"<svg" in data and b"<path" in data  # vector, not a bitmap
    else:
        assert data.startswith(b"%PDF")
    with pytest.raises(ValueError, match="png, .svg or .pdf"):
        export_figure(p, tmp_path / "fig.bmp")
    assert p.export_button.isVisible()


def test_smoothing_and_accuracy_intervals(qtbot):
    assert ema([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])  # bias-corrected from the start
    assert ema([0.0, 1.0], 0.5) == pytest.approx([0.0, 2 / 3])
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-3)
    lo, hi = wilson_interval(20, 40)
    assert lo == pytest.approx(0.352, abs=1e-3) and hi == pytest.approx(0.648, abs=1e-3)
    p = _shown(qtbot, CurvePlot("rl", "step", "reward"))
    p.set_curve("reward", [0, 1, 2, 3], [0.0, 1.0, 0.0, 1.0], symbol=None)
    p.set_smoothing(0.6)
    _x, y = p._curves["reward"].getData()
    assert y[1] == pytest.approx(ema([0, 1], 0.6)[1]) and len(p._faint) == 1
    p.set_smoothing(0)
    assert list(p._curves["reward"].getData()[1]) == [0.0, 1.0, 0.0, 1.0] and not p._faint
    a = _shown(qtbot, CurvePlot("acc", "N", "accuracy"))
    a.set_curve("bon", [1, 2], [0.5, 0.75], n=40)
    accuracy_axis(a, 40)
    assert "n = 40" in a.getAxis("left").labelText and a.getViewBox().viewRange()[1][1] >= 1.0
    assert "bon" in a._bars


def test_table_exports_csv_and_json_and_copies_tsv(qtbot, tmp_path, qapp):
    t = _shown(qtbot, DictTable())
    rows = [{"model": "base", "acc": 0.123456789, "note": "x" * 80}, {"model": "merged", "acc": 0.9, "note": None}]
    t.set_rows(rows)
    t.export(tmp_path / "t.csv")
    with open(tmp_path / "t.csv", newline="") as f:
        got = list(csv.reader(f))
    assert got[0] == ["model", "acc", "note"] and got[1][:2] == ["base", "0.123456789"]  # full precision
    t.export(tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text())[1] == {"model": "merged", "acc": 0.9, "note": None}
    assert t.item(0, 2).toolTip() == "x" * 80  # long text: the full value on hover
    t.setFocus()
    t.selectAll()
    qtbot.keyClick(t, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    lines = qapp.clipboard().text().splitlines()
    assert lines[0] == "model\tacc\tnote" and lines[2].startswith("merged\t0.9")
    assert t.columnWidth(0) >= t.fontMetrics().horizontalAdvance("merged")


@pytest.mark.parametrize("cls", [CurvePlot, GroupedBarChart])
def test_a_long_title_is_elided_and_never_widens_the_plot_past_its_widget(qtbot, cls):
    title = "Weights whose sign flipped during binary fine-tuning (mean over seeds)"
    p = cls(title)
    if cls is CurvePlot:
        p.set_curve("FSG (fast + slow)", [1, 2, 3, 4], [3.2, 3.5, 3.5, 3.4])
    p = _shown(qtbot, p, 357, 180)
    p.resize(360, 180)                               # a resize after the first layout too
    qtbot.wait(50)
    item = p.getPlotItem()
    assert item.titleLabel.text.endswith("…") and item.titleLabel.item.toolTip() == title
    assert item.geometry().width() <= p.width() + 0.5   # the data's right side is not cut off
    p.resize(1400, 400)
    qtbot.wait(50)
    assert item.titleLabel.text == title
