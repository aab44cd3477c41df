"""Equation discovery data loading: good files load, bad ones are rejected naming the problem."""
from __future__ import annotations

import numpy as np
import pytest

from backend.equations import data, systems


def _write(path, text):
    path.write_text(text)
    return path


def test_csv_roundtrip_and_sample_rate(tmp_path):
    t, x, names = systems.simulate("vanderpol", t_end=1.0)
    p = _write(tmp_path / "v.csv", data.to_csv_text(t, x, names))
    before = p.read_bytes()
    ds = data.load_data(p)
    assert ds.names == ["x", "y"] and np.array_equal(ds.x, x) and ds.dt == pytest.approx(0.002)
    assert p.read_bytes() == before  # never modified
    q = _write(tmp_path / "nt.csv", "a,b\n" + "\n".join(f"{i},{2 * i}" for i in range(10)))
    with pytest.raises(ValueError, match="sample rate"):
        data.load_data(q)
    assert data.load_data(q, sample_rate=10.0).t[1] == pytest.approx(0.1)


@pytest.mark.parametrize("text,msg", [
    ("t,x\n0,1\n0.1,nan\n0.2,3\n0.3,4\n0.4,5\n0.5,6\n", r"NaN or inf in x at row 1"),
    ("t,x\n0,1\n0.1,2\n0.25,3\n0.3,4\n0.4,5\n0.5,6\n", r"not uniformly sampled: step 0.15 at row 2"),
    ("t,x\n0,1\n0.1,2\n0.1,3\n0.3,4\n0.4,5\n0.5,6\n", r"not strictly increasing at row 2"),
    ("0,1\n0.1,2\n0.2,3\n", r"header"),
    ("t,x\n0,1\n0.1,2,3\n", r"line 3 has 3 fields"),
    ("t,x\n0,1\n0.1,abc\n", r"non-numeric"),
    ("t,x\n0,1\n0.1,2\n", r"at least 5 samples"),
])
def test_bad_csv_rejected_clearly(tmp_path, text, msg):
    p = _write(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError, match=msg) as info:
        data.load_data(p)
    assert str(p) in str(info.value)


def test_npz_checks(tmp_path):
    good = tmp_path / "g.npz"
    np.savez(good, x=np.random.rand(100, 3), dt=0.1)
    assert data.load_data(good).x.shape == (100, 3)
    trans = tmp_path / "tr.npz"
    np.savez(trans, x=np.random.rand(3, 100), dt=0.1)
    with pytest.raises(ValueError, match="transpose"):
        data.load_data(trans)
    short_t = tmp_path / "st.npz"
    np.savez(short_t, x=np.random.rand(100, 2), t=np.arange(90.0))
    with pytest.raises(ValueError, match=r"array 't' has shape \(90,\) but there are 100 samples"):
        data.load_data(short_t)
    cube = tmp_path / "c.npz"
    np.savez(cube, frames=np.random.rand(10, 4), dt=0.1)
    with pytest.raises(ValueError, match=r"'frames' must be \(samples, height, width\)"):
        data.load_data(cube)
    none = tmp_path / "n.npz"
    np.savez(none, y=np.zeros(3))
    with pytest.raises(ValueError, match="needs an array 'x'"):
        data.load_data(none)
    with pytest.raises(ValueError, match="unsupported format"):
        data.load_data(_write(tmp_path / "a.json", "{}"))
    with pytest.raises(FileNotFoundError):
        data.load_data(tmp_path / "missing.csv")


def test_image_folder(tmp_path):
    import matplotlib.image as mpimg

    v = systems.pendulum_video(t_end=0.2, dt=0.02, size=21)
    for i, f in enumerate(v["frames"]):
        mpimg.imsave(tmp_path / f"f{i:03d}.png", f, cmap="gray", vmin=0, vmax=1)
    ds = data.load_data(tmp_path, sample_rate=50.0)
    assert ds.frames.shape == (11, 21, 21) and ds.x.shape == (11, 441)
    assert np.abs(ds.frames - v["frames"]).max() < 0.01  # 8-bit PNG quantisation
    (tmp_path / "odd.png").unlink(missing_ok=True)
    mpimg.imsave(tmp_path / "zz.png", np.zeros((5, 5)))
    with pytest.raises(ValueError, match=r"frame zz.png is \(5, 5\)"):
        data.load_data(tmp_path, sample_rate=50.0)
