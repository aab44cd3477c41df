"""Equation discovery core: recovery on known systems, PySINDy agreement, derivatives, library."""
from __future__ import annotations

import numpy as np
import pytest

from backend.equations import derivatives, metrics, regression, systems
from backend.equations.library import Library, parse_term
from backend.equations.model import FitSettings, SparseModel, fit_system


def _fit(name: str, noise: float, **over):
    s = systems.SYSTEMS[name]
    t, x, names = systems.simulate(name, noise=noise, seed=1)
    settings = FitSettings(library=s.library, **{**s.fit_defaults, **over})
    return fit_system(t, x, names, settings, truth=s.truth)


@pytest.mark.parametrize("name", ["lorenz", "vanderpol", "lotka_volterra"])
def test_clean_recovery_within_one_percent(name):
    m = _fit(name, 0.0).metrics
    assert m["support_correct"], m
    assert m["coef_max_rel_error_true_terms"] < 0.01


@pytest.mark.parametrize("name", ["lorenz", "vanderpol", "lotka_volterra"])
def test_one_percent_noise_gives_the_right_sparsity(name):
    m = _fit(name, 0.01, derivative="savgol").metrics
    assert m["support_correct"], m
    assert m["false_terms"] == 0 and m["missed_terms"] == 0


def test_savgol_beats_plain_differences_under_noise():
    # FD amplifies noise by 1/dt; the smoothed derivative's coefficients are closer to the truth
    fd = _fit("lorenz", 0.05, threshold=0.5).metrics["coef_rel_error"]
    sg = _fit("lorenz", 0.05, threshold=0.5, derivative="savgol").metrics["coef_rel_error"]
    assert sg < fd


@pytest.mark.parametrize("name", ["duffing", "pendulum", "sir"])
def test_other_systems_recovered(name):
    m = _fit(name, 0.0).metrics
    assert m["support_correct"] and m["coef_max_rel_error_true_terms"] < 0.01


@pytest.mark.parametrize("case", [("lorenz", "poly3", 0.1, 0.0, False), ("lorenz", "poly3", 0.5, 0.02, False),
                                  ("vanderpol", "poly3", 0.1, 0.01, True),
                                  ("lotka_volterra", "poly2", 0.05, 0.05, False)])
def test_stlsq_matches_pysindy(case):
    ps = pytest.importorskip("pysindy")
    name, lib, thr, noise, norm = case
    t, x, names = systems.simulate(name, noise=noise, seed=3)
    dt = t[1] - t[0]
    library = Library.from_spec(lib, names)
    ours = regression.stlsq(library.transform(x), derivatives.finite_difference(x, dt), threshold=thr,
                            normalize_columns=norm)
    ref = ps.SINDy(optimizer=ps.STLSQ(threshold=thr, normalize_columns=norm),
                   feature_library=ps.PolynomialLibrary(degree=int(lib[-1])))
    ref.fit(x, t=dt)
    assert [n.replace("x0", names[0]).replace("x1", names[1]).replace("x2", names[-1])
            for n in ref.get_feature_names()] == library.feature_names
    assert np.abs(ours - ref.coefficients()).max() <= 1e-6
    assert np.array_equal(ours != 0, ref.coefficients() != 0)


def test_sr3_and_ensemble_and_selection_on_lorenz():
    t, x, names = systems.simulate("lorenz", t_end=10.0)
    lib = Library.from_spec("poly2", names)
    theta, dx = lib.transform(x), derivatives.finite_difference(x, t[1] - t[0])
    truth, _ = metrics.truth_matrix(systems.SYSTEMS["lorenz"].truth, lib)
    for opt in ("sr3", "sr3-l1"):
        coef = regression.solve(theta, dx, opt, threshold=0.5)
        assert np.array_equal(coef != 0, truth != 0), opt
        assert np.abs(coef[truth != 0] / truth[truth != 0] - 1).max() < 0.01
    med, incl = regression.ensemble(theta, dx, n_models=5, seed=0, threshold=0.5)
    assert np.array_equal(med != 0, truth != 0) and np.all(incl[truth != 0] == 1.0)
    xs, dxs = derivatives.savgol(x, t[1] - t[0])
    sel = regression.select_threshold(lib.transform(xs), dxs, [0.0, 0.01, 0.5, 3.0, 30.0])
    assert sel["best_threshold"] in (0.01, 0.5)
    assert {r["threshold"] for r in sel["path"]} == {0.0, 0.01, 0.5, 3.0, 30.0}


def test_derivatives():
    t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    x = np.column_stack([np.sin(3 * t), np.cos(t)])
    dt = t[1] - t[0]
    exact = np.column_stack([3 * np.cos(3 * t), -np.sin(t)])
    assert np.abs(derivatives.spectral(x, dt) - exact).max() < 1e-9
    assert np.abs(derivatives.finite_difference(x, dt) - exact).max() < 3e-3
    sm, d = derivatives.savgol(x + np.random.default_rng(0).normal(scale=1e-3, size=x.shape), dt)
    assert np.abs(d - exact)[10:-10].max() < 0.3
    with pytest.raises(ValueError, match="periodic"):
        derivatives.spectral(np.linspace(0, 1, 50)[:, None], 0.1)
    with pytest.raises(ValueError, match="unknown derivative"):
        derivatives.differentiate(x, dt, "magic")


def test_library_terms_and_safe_parsing():
    lib = Library.from_spec("poly2+trig1", ["x", "y"], custom=["x*exp(-y)", "sin(x)"])
    assert lib.feature_names[:6] == ["1", "x", "y", "x^2", "x y", "y^2"]
    assert "sin(x)" in lib.feature_names and lib.feature_names.count("sin(x)") == 1
    pts = np.array([[0.5, -1.0], [2.0, 0.3]])
    th = lib.transform(pts)
    j = lib.feature_names.index("x*exp(-y)")
    assert np.allclose(th[:, j], pts[:, 0] * np.exp(-pts[:, 1]))
    assert np.allclose(th[:, lib.feature_names.index("cos(y)")], np.cos(pts[:, 1]))
    for bad, msg in [("__import__('os')", "unknown name"), ("x; y", "unexpected character"),
                     ("open(x)", "unknown name"), ("3", "constant"), ("z*x", "unknown name")]:
        with pytest.raises(ValueError, match=msg):
            parse_term(bad, ["x", "y"])
    with pytest.raises(ValueError, match="unknown part"):
        Library.from_spec("cubic", ["x"])


def test_model_sympy_latex_and_simulation():
    lib = Library.from_spec("poly1", ["x", "y"])
    model = SparseModel(lib, np.array([[0, 0, 1.0], [0, -1.0, 0]]))  # harmonic oscillator
    assert model.text() == ["dx/dt = 1.0*y", "dy/dt = -1.0*x"]
    assert model.latex()[1] == r"\dot{y} = - 1.0 x"
    t = np.linspace(0, 2 * np.pi, 200)
    sim = model.simulate([1.0, 0.0], t)
    assert np.abs(sim[:, 0] - np.cos(t)).max() < 1e-6
    back = SparseModel.from_dict(model.to_dict())
    assert np.array_equal(back.coef, model.coef) and back.library.feature_names == lib.feature_names
    blow = SparseModel(Library.from_spec("poly2", ["x"]), np.array([[0, 0, 1.0]]))  # x' = x^2 blows up at t=1
    out = blow.simulate([1.0], np.linspace(0, 2, 50))
    assert np.isnan(out[-1, 0]) and metrics.relative_l2(out, np.ones_like(out)) == float("inf")


def test_extrapolation_metrics():
    t = np.linspace(0, 10, 101)
    true = np.column_stack([np.sin(t), np.cos(t)])
    pred = true.copy()
    pred[60:] += 1.0
    assert metrics.valid_time(t, true, pred, 0.1) == pytest.approx(6.0)
    assert metrics.valid_time(t, true, true, 0.1) == pytest.approx(10.0)
    assert metrics.relative_l2(true, true) == 0.0
