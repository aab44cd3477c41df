"""Equation discovery on records shaped like real measurements: an encoder angle only (second
order), a short noisy predator-prey series (integral form + held-out selection), and the
safeguards that keep a fit from collapsing or exploding silently."""
from __future__ import annotations

import json

import numpy as np
import pytest

from backend.equations import conditioning, data, loop, proposers, systems
from backend.equations.model import FitSettings, fit_system

K_TRUE, C_TRUE = 9.81, 0.5   # the built-in damped pendulum: theta'' = -9.81 sin(theta) - 0.5 theta'


def encoder_angle(seed: int, degrees: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Damped pendulum from 2.5 rad, seen only through a 12-bit encoder with a little jitter."""
    t, x, _ = systems.simulate("pendulum", 0.0, 0, t_end=10.0, dt=0.01)
    rng = np.random.default_rng(seed)
    step = 2 * np.pi / 4096
    theta = np.round((x[:, :1] + rng.normal(size=(len(t), 1)) * 0.002) / step) * step
    return t, (np.rad2deg(theta) if degrees else theta)


def short_predator_prey(seed: int, noise: float = 0.05, n: int = 21) -> tuple[np.ndarray, np.ndarray]:
    t, x, _ = systems.simulate("lotka_volterra", 0.0, 0, t_end=20.0, dt=0.002)
    idx = np.linspace(0, len(t) - 1, n).round().astype(int)
    rng = np.random.default_rng(seed)
    return t[idx], x[idx] + rng.normal(size=(n, 2)) * noise * x[idx].std(axis=0)


def _coef(fit, equation: str, term: str) -> float:
    i = fit.model.names.index(equation)
    return float(fit.model.coef[i, fit.model.library.feature_names.index(term)])


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("formulation", ["weak", "derivative"])
def test_second_order_pendulum_from_the_angle_alone(seed, formulation):
    t, theta = encoder_angle(seed, degrees=True)
    s = FitSettings(order=2, degrees=True, library="poly1+trig1", derivative="savgol", window=31,
                    formulation=formulation, select=True)
    fit = fit_system(t, theta, ["theta"], s)
    assert fit.model.names == ["theta", "theta_t"]
    assert fit.model.text()[0] == "dtheta/dt = 1.0*theta_t"
    assert abs(_coef(fit, "theta_t", "sin(theta)") + K_TRUE) / K_TRUE < 0.05
    assert abs(_coef(fit, "theta_t", "theta_t") + C_TRUE) / C_TRUE < 0.05
    row = fit.model.coef[1]
    assert np.count_nonzero(row) == 2, fit.model.text()       # nothing else (theta and sin(theta) kept apart)
    assert "sin(theta_t)" not in fit.model.library.feature_names  # velocities are not angles
    assert fit.metrics["extrapolation_rel_l2"] < 0.1


@pytest.mark.parametrize("seed", [0, 1])
def test_short_noisy_predator_prey_selects_the_four_term_form(seed):
    t, x = short_predator_prey(seed)
    fit = fit_system(t, x, ["x", "y"], FitSettings(library="poly2", select=True, train_fraction=1.0))
    assert fit.formulation == "integral" and any("only 21 samples" in n for n in fit.notes)
    chosen = [sorted(e["terms"]) for e in fit.selection["equations"]]
    assert chosen == [["x", "x y"], ["x y", "y"]]
    assert abs(_coef(fit, "x", "x") - 2 / 3) < 0.1 and abs(_coef(fit, "x", "x y") + 4 / 3) < 0.2
    assert abs(_coef(fit, "y", "y") + 1) < 0.15 and abs(_coef(fit, "y", "x y") - 1) < 0.15
    curve = fit.selection["equations"][0]["curve"]
    assert [c["chosen"] for c in curve].count(True) == 1 and curve[0]["n_terms"] == 0


def test_noise_only_says_nothing_beat_the_constant_model():
    rng = np.random.default_rng(0)
    t = np.arange(200) * 0.1
    x = 1.0 + rng.normal(size=(200, 2)) * 0.1
    fit = fit_system(t, x, ["a", "b"], FitSettings(library="poly2", select=True))
    assert len(fit.notes) >= 2 and all("no term beat the" in n for n in fit.notes if n.startswith("d"))
    assert fit.selection["equations"][0]["message"]


def test_collinear_term_is_dropped_with_the_reason():
    rng = np.random.default_rng(1)
    x = 1000 + 50 * rng.random(300)                 # hares in the thousands: tanh(x) is the constant column
    theta = np.column_stack([np.ones_like(x), x, np.tanh(x)])
    cond = conditioning.check_columns(theta, ["1", "x", "tanh(x)"])
    assert cond.keep.tolist() == [True, True, False]
    assert "collinear with 1" in cond.dropped["tanh(x)"]
    coef = np.array([[-6e10, 1.0, 6e10]])          # two huge coefficients cancelling: what least squares did
    big = conditioning.oversized_terms(theta, x[:, None], coef, ["1", "x", "tanh(x)"])
    assert set(big) == {"1", "tanh(x)"} and "cancels" in big["tanh(x)"]


def test_fit_reports_and_drops_a_collinear_user_term():
    t, x = short_predator_prey(0, n=60)
    fit = fit_system(t, x * 1000, ["Hare", "Lynx"], FitSettings(library="poly1", custom_terms=("tanh(Hare)",)))
    assert any(n.startswith("dropped tanh(Hare): collinear") for n in fit.notes)
    assert np.all(np.abs(fit.model.coef) < 1e3)


class _Scripted:
    name = "scripted"

    def propose(self, req):
        return proposers.Proposal(add=["tanh(Hare)", "Hare*Lynx"], reason="test")


def test_loop_refuses_proposals_that_break_conditioning(tmp_path):
    t, x = short_predator_prey(0)
    tr = loop.discover(t, x * 1000, ["Hare", "Lynx"], _Scripted(), tmp_path / "o",
                       FitSettings(library="poly1", select=True, train_fraction=1.0), rounds=2)
    prop = tr["rounds"][0]["proposal"]
    assert prop["accepted"] == ["Hare*Lynx"]
    assert prop["rejected"][0]["term"] == "tanh(Hare)" and "refused: collinear" in prop["rejected"][0]["why"]


def test_builtin_grammar_fits_the_data():
    from backend.equations.catalogue import default_catalogue

    rng = np.random.default_rng(0)
    pos = np.column_stack([1 + rng.random(50), 2 + rng.random(50)])
    cat = default_catalogue(["Hare", "Lynx"], pos)
    assert "Hare*Lynx" in cat and not any(c.startswith("sin(") for c in cat)
    assert any("/(" in c for c in cat)                                     # saturations of positive states
    swing = np.column_stack([np.sin(np.linspace(0, 9, 50)), np.cos(np.linspace(0, 9, 50))])
    cat = default_catalogue(["theta", "theta_t"], swing)
    assert "sin(theta)" in cat and "sin(theta_t)" not in cat


def test_cli_second_order_in_degrees(tmp_path, capsys, monkeypatch):
    from backend.cli import parser
    from backend.cli.parser import main

    monkeypatch.setattr(parser, "_command_modules", lambda: ["backend.cli.runs", "backend.equations.cli"])
    t, theta = encoder_angle(0, degrees=True)
    csv = tmp_path / "swing.csv"
    csv.write_text("\ufeff" + data.to_csv_text(t, theta, ["theta"]))     # a spreadsheet's BOM is fine
    rc = main(["--workspace", str(tmp_path / "ws"), "equations", "fit", str(csv), "--order", "2", "--degrees",
               "--library", "poly1+trig1", "--derivative", "savgol", "--window", "31", "--formulation", "weak",
               "--select", "--out", str(tmp_path / "fit"), "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    res = json.loads(out.out)["result"]
    assert res["equations"][0] == "dtheta/dt = 1.0*theta_t"
    assert "sin(theta)" in res["equations"][1] and res["formulation"] == "weak"
    assert res["selection"]["criterion"] == "cv1se"
    summary = json.loads((tmp_path / "fit" / "summary.json").read_text())
    assert summary["settings"]["order"] == 2 and summary["names"] == ["theta", "theta_t"]


@pytest.mark.parametrize("argv, words", [
    (["--order", "3"], "invalid choice"),
    (["--threshold", "nan"], "finite"),
    (["--criterion", "aic"], "invalid choice"),
])
def test_cli_refuses_bad_settings(tmp_path, capsys, monkeypatch, argv, words):
    from backend.cli import parser
    from backend.cli.parser import main

    monkeypatch.setattr(parser, "_command_modules", lambda: ["backend.cli.runs", "backend.equations.cli"])
    csv = tmp_path / "d.csv"
    csv.write_text("t,x\n" + "".join(f"{i},{i * i}\n" for i in range(20)))
    with pytest.raises(SystemExit) if "choice" in words else _nothing():
        rc = main(["--workspace", str(tmp_path / "ws"), "equations", "fit", str(csv), *argv, "--out",
                   str(tmp_path / "o")])
        assert rc == 2
    assert words in capsys.readouterr().err


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("content, words", [
    (b"t,x,x\n0,1,2\n1,2,3\n2,3,4\n3,4,5\n4,5,6\n", "duplicate column name(s) 'x'"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary", "not a text CSV file"),
])
def test_malformed_csv_is_named(tmp_path, content, words):
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(ValueError) as err:
        data.load_data(p)
    assert str(p) in str(err.value) and words in str(err.value)


def test_garbage_npz_is_named(tmp_path):
    p = tmp_path / "bad.npz"
    p.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a readable NPZ file"):
        data.load_data(p)
