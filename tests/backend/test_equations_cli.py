"""Equation discovery through the CLI and the jobs: system -> fit, discover, coordinates."""
from __future__ import annotations

import json

import numpy as np
import pytest

from backend.cli.parser import main
from backend.equations import coords, systems


@pytest.fixture(autouse=True)
def _only_our_commands(monkeypatch):
    # other packages' CLIs are built by other engineers; a half-written one must not break ours
    import backend.cli.parser as parser

    monkeypatch.setattr(parser, "_command_modules", lambda: ["backend.cli.runs", "backend.equations.cli"])


def _run(tmp_path, capsys, *argv):
    rc = main(["--workspace", str(tmp_path / "ws"), *argv])
    return rc, capsys.readouterr()


def test_system_then_fit_json(tmp_path, capsys):
    data = tmp_path / "lorenz.csv"
    rc, _ = _run(tmp_path, capsys, "equations", "system", "lorenz", "--noise", "0.01", "--t-end", "8",
                   "--out", str(data))
    assert rc == 0 and data.read_text().startswith("t,x,y,z\n")
    before = data.read_bytes()
    rc, out = _run(tmp_path, capsys, "equations", "fit", str(data), "--library", "poly3", "--derivative", "savgol",
                   "--out", str(tmp_path / "fit"), "--json")
    assert rc == 0, out.err
    res = json.loads(out.out)["result"]
    assert res["metrics"]["n_terms"] == 7 and res["equations"][0].startswith("dx/dt = ")
    assert res["latex"][2].startswith(r"\dot{z} = ")
    assert data.read_bytes() == before
    model = json.loads((tmp_path / "fit" / "model.json").read_text())
    assert model["feature_names"][:4] == ["1", "x", "y", "z"]
    series = np.load(tmp_path / "fit" / "series.npz")
    assert series["prediction"].shape[1] == 3 and int(series["n_train"]) == 3201
    assert (tmp_path / "fit" / "plots" / "time_series.png").read_bytes()[:4] == b"\x89PNG"
    rc, out = _run(tmp_path, capsys, "equations", "fit", str(data), "--out", str(tmp_path / "fit"))
    assert rc == 2 and "already exists" in out.err


def test_bad_data_fails_with_the_reason(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("t,x\n0,1\n0.1,2\n0.2,nan\n0.3,1\n0.4,1\n0.5,1\n")
    rc, out = _run(tmp_path, capsys, "equations", "fit", str(bad), "--out", str(tmp_path / "o"), "--json")
    assert rc == 1
    assert "NaN or inf in x at row 2" in json.loads(out.out)["error"]
    assert not (tmp_path / "o").exists()


def test_discover_cli_builtin(tmp_path, capsys):
    data = tmp_path / "p.csv"
    assert _run(tmp_path, capsys, "equations", "system", "pendulum", "--dt", "0.01", "--t-end", "6",
                "--out", str(data))[0] == 0
    rc, out = _run(tmp_path, capsys, "equations", "discover", str(data), "--rounds", "3", "--out",
                   str(tmp_path / "d"), "--json")
    assert rc == 0, out.err
    res = json.loads(out.out)["result"]
    assert any("sin(theta)" in e for e in res["equations"])
    tr = json.loads((tmp_path / "d" / "transcript.json").read_text())
    assert tr["rounds"][0]["proposal"]["accepted"] == ["sin(theta)"]


def test_tracked_coordinates_recover_the_pendulum():
    v = systems.pendulum_video(t_end=4.0, dt=0.02, size=41)
    tr = coords.track_angle(v["frames"])
    assert np.abs(tr["theta"] - v["theta"]).max() < 0.05
    p = coords.pca(v["frames"].reshape(len(v["t"]), -1), 3)
    assert p["z"].shape == (len(v["t"]), 3) and 0 < sum(p["explained"]) <= 1


def test_video_job_tracks_and_fits(tmp_path, capsys):
    video = tmp_path / "v.npz"
    assert _run(tmp_path, capsys, "equations", "system", "pendulum_video", "--out", str(video))[0] == 0
    rc, out = _run(tmp_path, capsys, "equations", "fit", str(video), "--library", "poly1+trig1", "--derivative",
                   "savgol", "--coords", "track", "--out", str(tmp_path / "f"), "--json")
    assert rc == 0, out.err
    res = json.loads(out.out)["result"]
    assert res["names"] == ["theta", "omega"] and "frames" in res["images"]
    assert any("sin(theta)" in e for e in res["equations"])
    assert res["metrics"]["extrapolation_rel_l2"] < 0.1


def test_autoencoder_trains_jointly():
    v = systems.pendulum_video(t_end=2.0, dt=0.02, size=21)
    flat = v["frames"].reshape(len(v["t"]), -1)
    res = coords.fit_autoencoder(flat, 0.02, latent_dim=2, hidden=16, epochs=60, delays=1, pre_pca=8)
    assert res.losses[-1]["recon"] < res.losses[0]["recon"]
    assert res.z.shape == (len(flat) - 1, 2) and res.coef.shape == (2, 10)
    assert res.decode(res.z).shape == (len(flat) - 1, flat.shape[1])


def test_high_dimensional_input_needs_coordinates(tmp_path, capsys):
    wide = tmp_path / "w.npz"
    np.savez(wide, x=np.random.default_rng(0).normal(size=(200, 30)), dt=0.1)
    rc, out = _run(tmp_path, capsys, "equations", "fit", str(wide), "--out", str(tmp_path / "o"), "--json")
    assert rc == 1 and "choose coordinates" in json.loads(out.out)["error"]
