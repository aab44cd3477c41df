"""Shared plot and table widgets draw what they are given."""
from __future__ import annotations

import numpy as np

from app.widgets.plots import CurvePlot, GroupedBarChart, Heatmap
from app.widgets.tables import DictTable, format_value


def test_curve_plot_replaces_and_clears(qtbot):
    p = CurvePlot("t", "x", "y", logx=True)
    qtbot.addWidget(p)
    p.set_curve("a", [1, 2, 4], [0.1, 0.2, 0.3])
    p.set_curve("a", [1, 2], [0.5, 0.6])
    p.set_curve("b", [1, 2], [0.1, 0.1])
    assert p.curve_names() == ["a", "b"]
    x, y = p._curves["a"].getData()
    assert list(y) == [0.5, 0.6]
    p.clear_curves()
    assert p.curve_names() == []


def test_bar_chart_and_heatmap_accept_data(qtbot):
    b = GroupedBarChart("acc")
    qtbot.addWidget(b)
    b.set_data(["add", "sub"], {"base": [0.1, 0.2], "ft": [0.8, 0.7]})
    assert len(b.plotItem.legend.items) == 2
    h = Heatmap("m")
    qtbot.addWidget(h)
    m = np.arange(6.0).reshape(3, 2)
    h.set_matrix(m, ["r0", "r1", "r2"], ["c0", "c1"])
    assert h.image.image.shape == (2, 3)
    assert h.bar.levels() == (0.0, 5.0)


def test_dict_table_sorts_numbers_numerically(qtbot):
    t = DictTable()
    qtbot.addWidget(t)
    t.set_rows([{"name": "a", "v": 10.0}, {"name": "b", "v": 9.0}, {"name": "c", "v": None}])
    t.sortItems(1)
    assert [t.cell_text(i, 0) for i in range(2)] == ["b", "a"]
    assert format_value(float("nan")) == "NaN" and format_value(0.00001234) == "1.23e-05"
