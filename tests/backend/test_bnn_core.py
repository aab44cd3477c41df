"""Binary-network lab: the quantiser's gradient, the sanity identities of the note, the data checks."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from backend.bnn.binary import BinaryNet, binarize, calibration
from backend.bnn.data import load_arrays, prepare
from backend.bnn.methods import GradientMethod
from backend.bnn.params import BnnTrainParams
from backend.bnn.trainer import model_tensors, train

TINY = {"epochs": 2, "pretrain_epochs": 3, "hidden": 32, "batch_size": 64, "seed": 3}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: extra threads only contend on a shared CPU
    yield
    torch.set_num_threads(threads)


def test_binarize_is_sign_and_its_backward_is_the_calibrated_gradient():
    w = torch.randn(7, 5, requires_grad=True)
    q = binarize(w)
    assert set(q.unique().tolist()) <= {-1.0, 1.0}
    assert torch.equal(q, torch.where(w >= 0, 1.0, -1.0))
    g = torch.randn(7, 5)
    q.backward(g)
    assert torch.equal(w.grad, g * calibration(w))
    t = torch.tanh(w.detach())
    assert torch.allclose(calibration(w), (1 - t**2) / t.abs().max())


def _run(**kw):
    p = BnnTrainParams(**{**TINY, **kw}).validate()
    return p, train("digits", p)


@pytest.mark.parametrize("combine", ["reference", "paper"])
def test_fsg_with_zero_slow_net_and_alpha_0_is_exactly_the_fast_net_method(combine):
    _, mq = _run(method="metaquant", combine=combine)
    _, fsg = _run(method="fsg", slow_net="zero", alpha=0.0, combine=combine)
    assert fsg["train_loss_iter"] == mq["train_loss_iter"]
    assert fsg["test_accuracy_per_epoch"] == mq["test_accuracy_per_epoch"]
    # and the identity is not vacuous: a live slow net with α > 0 changes the run
    _, live = _run(method="fsg", alpha=0.9, combine=combine)
    assert live["train_loss_iter"] != mq["train_loss_iter"]


def test_fast_net_fixed_to_one_applies_the_straight_through_gradient():
    ds = prepare("digits", 0)
    x, y = torch.from_numpy(ds.x_train[:64]), torch.from_numpy(ds.y_train[:64])
    model = BinaryNet(ds.input_shape, ds.n_classes, 16, 0)
    model.binarize_()
    p = BnnTrainParams(method="metaquant", fast_net="one", optimizer="sgd", lr=0.05)
    m = GradientMethod(model, p)
    first = m.step(x, y)                       # no history yet: a plain STE step
    for a, s in zip(first.applied, first.ste_grads):
        assert torch.equal(a, s)
    # the straight-through gradient the next step should apply: c(W) ⊙ g_Q of the batch just seen,
    # computed here by autograd through the quantiser at the current weights
    ste = []
    for w, g in zip(model.latent_weights(), m.g_prev):
        leaf = w.detach().clone().requires_grad_(True)
        binarize(leaf).backward(g)
        ste.append(leaf.grad)
    virtual, applied = m.meta_gradients()
    for w, v, a, s in zip(model.latent_weights(), virtual, applied, ste):
        assert torch.equal(a, s)
        assert torch.equal(v, w.detach() - 0.05 * s)
    # a learned (linear) fast net scales it instead
    m.fast = type(m.fast)("linear", 4, torch.Generator().manual_seed(1))
    _, learned = m.meta_gradients()
    assert not torch.equal(learned[0], ste[0])


def test_methods_train_and_report_every_epoch(tmp_path):
    for method in ("ste-sgd", "ste-adam", "metaquant", "fsg"):
        p = BnnTrainParams(method=method, **TINY)
        res = train("digits", p, out=tmp_path / method)
        assert len(res["train_loss"]) == 2 and len(res["flip_share"]) == 2 and len(res["epoch_time_s"]) == 2
        assert 0.3 < res["test_accuracy"] <= 1.0, res["test_accuracy"]
        assert all(0 <= f < 0.5 for f in res["flip_share"])
        if method.startswith("ste"):
            assert res["grad_cosine"] == pytest.approx([1.0, 1.0])
        import json

        metrics = json.loads((tmp_path / method / "metrics.json").read_text())
        h = metrics["grad_hist"][-1]
        assert sum(h["ste"]["counts"]) == sum(h["applied"]["counts"]) == res["n_binary_weights"]
    from safetensors.torch import load_file

    tensors = load_file(str(tmp_path / "fsg" / "model.safetensors"))
    signs = [t for k, t in tensors.items() if k.endswith(".sign")]
    assert len(signs) == 3 and all(set(s.unique().tolist()) <= {-1, 1} for s in signs)


def test_images_get_a_conv_net(tmp_path):
    from sklearn.datasets import load_digits

    d = load_digits()
    np.savez(tmp_path / "img.npz", X=d.images[:400], y=d.target[:400])
    np.savez(tmp_path / "rgb.npz", X=np.repeat(d.images[:400, :, :, None], 3, axis=3), y=d.target[:400])
    for name in ("img", "rgb"):
        res = train(str(tmp_path / f"{name}.npz"), BnnTrainParams(method="fsg", **{**TINY, "epochs": 1}))
        assert res["architecture"] == "conv" and res["input_shape"][0] == (1 if name == "img" else 3)
        assert res["test_accuracy"] > 0.15


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize("arrays, message", [
    ({"X": np.zeros((10, 3))}, "missing key(s) y"),
    ({"X": np.r_[np.zeros((9, 3)), [[np.nan, 0, 0]]], "y": np.arange(10) % 2}, "NaN or infinite"),
    ({"X": np.zeros((10, 3)), "y": np.arange(10) - 1}, "labels out of range"),
    ({"X": np.zeros((10, 3)), "y": np.arange(10) * 500}, "labels out of range"),
    ({"X": np.zeros((10, 3)), "y": np.arange(10) / 3}, "whole-number class ids"),
    ({"X": np.zeros((10, 3)), "y": np.zeros(10, dtype=int)}, "only one class"),
    ({"X": np.zeros((10, 3)), "y": np.arange(9) % 2}, "one per row of X"),
    ({"X": np.zeros(10), "y": np.arange(10) % 2}, "X must be"),
])
def test_malformed_npz_is_refused_with_one_line_naming_the_file(tmp_path, arrays, message):
    path = _npz(tmp_path / "bad.npz", **arrays)
    before = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    with pytest.raises(ValueError) as err:
        load_arrays(path)
    text = str(err.value)
    assert message in text and "bad.npz" in text and "\n" not in text
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == before


def test_not_an_npz_and_missing_file(tmp_path):
    bad = tmp_path / "junk.npz"
    bad.write_text("not a zip")
    with pytest.raises(ValueError, match="junk.npz: not a readable .npz"):
        load_arrays(str(bad))
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_arrays(str(tmp_path / "nope.npz"))


def test_split_is_stratified_standardised_and_seeded():
    a, b, c = prepare("wine", 0), prepare("wine", 0), prepare("wine", 1)
    assert np.array_equal(a.x_train, b.x_train) and not np.array_equal(a.x_train, c.x_train)
    assert np.allclose(a.x_train.mean(axis=0), 0, atol=1e-5)
    assert set(np.unique(a.y_test)) == {0, 1, 2}


def test_saved_model_holds_signs_not_latent_weights():
    model = BinaryNet((5,), 3, 8, 0)
    model.binarize_()
    t = model_tensors(model)
    assert not any(k.endswith("layers.0.weight") for k in t)
    assert torch.equal(t["layers.0.sign"].float(), binarize(model.layers[0].weight.detach()))
