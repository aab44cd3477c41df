"""Seed statistics of the binary-networks bench and panel."""
from __future__ import annotations

import pytest

from backend.bnn.stats import mean_curve, mean_std, paired_test, smooth


def test_paired_test_and_spread():
    a, b = [0.90, 0.91, 0.95, 0.93], [0.88, 0.90, 0.92, 0.92]
    t = paired_test(a, b)
    assert t["n"] == 4 and t["mean_diff"] == pytest.approx(0.0175)
    assert 0 < t["t_p"] < 0.05 and t["wilcoxon_p"] == pytest.approx(0.125)
    assert paired_test([0.9], [0.8])["t_p"] is None                 # one pair: no test
    assert paired_test([0.9, 0.8], [0.9, 0.8])["t_p"] == 1.0         # identical runs
    assert paired_test([0.9, 0.8], [0.8, 0.7])["t_p"] is None        # constant gap: t undefined
    assert mean_std([1.0, 3.0]) == (2.0, pytest.approx(2 ** 0.5)) and mean_std([5.0]) == (5.0, 0.0)


def test_mean_curve_uses_the_runs_that_reached_each_step_and_smooth_trails():
    xs, ys = mean_curve([{1: 1.0, 2: 2.0}, {1: 3.0}])
    assert xs == [1.0, 2.0] and ys == [2.0, 2.0]
    assert smooth([1, 2, 3, 4], 2) == [1.0, 1.5, 2.5, 3.5] and smooth([1, 2], 1) == [1, 2]
