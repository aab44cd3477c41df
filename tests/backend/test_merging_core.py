"""Merge rules, the YAML subset and T-Switch on plain tensors (no model files)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from backend.merging.config import ConfigError, parse_config, resolve_value, tensor_params
from backend.merging.methods import merge_tensor
from backend.merging.tswitch import pack_signs, tswitch_tensor, unpack_signs


def _t(seed: int, shape=(16, 12)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("method", ["linear", "task_arithmetic", "ties", "dare_linear", "dare_ties", "breadcrumbs"])
def test_merging_identical_models_returns_the_model(method):
    base = _t(0)
    ft = base + 0.1 * _t(1)
    density = 1.0 if method != "breadcrumbs" else 1.0
    out = merge_tensor(method, base, [ft, ft.clone()], [0.5, 0.5], [density, density],
                       gammas=[0.0, 0.0], normalize=True)
    assert torch.allclose(out, ft, atol=1e-6)


def test_linear_with_one_model_is_identity():
    x = _t(2)
    assert torch.equal(merge_tensor("linear", None, [x], [0.7], [1.0]), x)


def test_ties_density_one_single_model_equals_task_arithmetic():
    base, ft = _t(3), _t(4)
    ties = merge_tensor("ties", base, [ft], [1.0], [1.0])
    ta = merge_tensor("task_arithmetic", base, [ft], [1.0], [1.0])
    assert torch.allclose(ties, ta, atol=1e-6)


def test_ties_weight_applies_before_sign_election():
    base = torch.zeros(1)
    a, b = torch.tensor([1.0]), torch.tensor([-0.6])
    # unweighted, + wins; weighting b by 2 makes - win (mergekit issue #474 semantics)
    assert merge_tensor("ties", base, [a, b], [1.0, 1.0], [1.0, 1.0]).item() > 0
    assert merge_tensor("ties", base, [a, b], [1.0, 2.0], [1.0, 1.0]).item() < 0


def test_dare_rescale_keeps_l1_norm_by_default_and_paper_rescale_is_an_option():
    base = torch.zeros(4000)
    ft = _t(5, (4000,))
    g = torch.Generator().manual_seed(0)
    out = merge_tensor("dare_linear", base, [ft], [1.0], [0.3], generator=g)
    assert abs(out.abs().sum() / ft.abs().sum() - 1) < 1e-4
    assert (out != 0).float().mean().item() == pytest.approx(0.3, abs=0.03)
    paper = merge_tensor("dare_linear", base, [ft], [1.0], [0.3], rescale_mode="paper",
                         generator=torch.Generator().manual_seed(0))
    kept = paper != 0
    assert torch.allclose(paper[kept], ft[kept] / 0.3)


def test_ties_density_keeps_top_k_by_magnitude():
    base = torch.zeros(100)
    ft = torch.arange(1, 101, dtype=torch.float32)
    out = merge_tensor("ties", base, [ft], [1.0], [0.25])
    assert int((out != 0).sum()) == 25 and out[75:].ne(0).all()


@pytest.mark.parametrize("drop", [0.0, 0.3, 0.6, 0.9, 60])
def test_tswitch_invariants(drop):
    d = _t(6, (33, 17))
    d[0, :5] = 0.5  # ties on the positive side
    sw = tswitch_tensor(d, drop)
    s = sw.signs.float()
    kept = d * (s != 0)
    # ||knob * S|| equals ||kept||
    assert torch.linalg.norm(sw.knob * s).item() == pytest.approx(torch.linalg.norm(kept).item(), rel=1e-5)
    # S agrees in sign with the task vector wherever it is non-zero
    assert torch.all(torch.sign(d)[s != 0] == s[s != 0])
    # kept positives >= dropped positives, and likewise for negatives (by magnitude)
    pos_kept, pos_drop = d[(s > 0)], d[(d > 0) & (s == 0)]
    neg_kept, neg_drop = d[(s < 0)], d[(d < 0) & (s == 0)]
    if pos_kept.numel() and pos_drop.numel():
        assert pos_kept.min() >= pos_drop.max()
    if neg_kept.numel() and neg_drop.numel():
        assert neg_kept.abs().min() >= neg_drop.abs().max()
    r = drop / 100 if drop > 1 else drop
    n_pos = int((d > 0).sum())
    assert int((s > 0).sum()) >= int(np.floor(n_pos * (1 - r)))


def test_tswitch_keeps_ties_at_the_threshold():
    d = torch.tensor([3.0, 2.0, 2.0, 1.0])
    sw = tswitch_tensor(d, 0.5)  # top floor(4*0.5)=2 -> threshold 2.0, the tie is kept too
    assert sw.signs.tolist() == [1, 1, 1, 0]


def test_packed_signs_round_trip_exactly():
    for n in (1, 3, 4, 5, 1000, 1003):
        s = torch.randint(-1, 2, (n,), generator=torch.Generator().manual_seed(n), dtype=torch.int8)
        s[: n // 3] = 0
        back = unpack_signs(pack_signs(s), n)
        assert np.array_equal(back, s.numpy())


def test_config_refuses_unsupported_fields_by_name():
    ok = {"merge_method": "ties", "base_model": "b", "models": [{"model": "a", "parameters": {"weight": 1}}]}
    parse_config(ok)
    with pytest.raises(ConfigError, match="slices"):
        parse_config({**ok, "slices": []})
    with pytest.raises(ConfigError, match=r"models\[0\]\.parameters\.select_topk"):
        parse_config({**ok, "models": [{"model": "a", "parameters": {"select_topk": 0.1}}]})
    with pytest.raises(ConfigError, match="merge_method 'sce'"):
        parse_config({**ok, "merge_method": "sce"})
    with pytest.raises(ConfigError, match="needs 'base_model'"):
        parse_config({"merge_method": "ties", "models": ["a"]})


def test_parameter_gradients_filters_and_precedence():
    assert resolve_value([0.0, 1.0], "model.layers.0.mlp.up_proj.weight", 3) == 0.0
    assert resolve_value([0.0, 1.0], "model.layers.1.mlp.up_proj.weight", 3) == pytest.approx(0.5)
    assert resolve_value([0.0, 1.0], "model.layers.2.mlp.up_proj.weight", 3) == pytest.approx(1.0)
    filt = [{"filter": "mlp", "value": 0.5}, {"value": 0.0}]
    assert resolve_value(filt, "model.layers.1.mlp.up_proj.weight", 3) == 0.5
    assert resolve_value(filt, "model.layers.1.self_attn.q_proj.weight", 3) == 0.0
    cfg = parse_config({"merge_method": "ties", "base_model": "b", "parameters": {"density": 0.3, "weight": 0.2},
                        "models": [{"model": "a", "parameters": {"density": 0.9}}]})
    p = tensor_params(cfg, 0, "model.layers.0.mlp.up_proj.weight", 2)
    assert p["density"] == 0.9 and p["weight"] == 0.2


def test_slerp_ends_are_the_inputs_and_colinear_falls_back_to_lerp():
    from backend.merging.methods import slerp

    a, b = _t(7), _t(8)
    assert torch.allclose(merge_tensor("slerp", a, [b], [1.0], [1.0], t=0.0), a, atol=1e-6)
    assert torch.allclose(merge_tensor("slerp", a, [b], [1.0], [1.0], t=1.0), b, atol=1e-5)
    mid = slerp(0.5, a, b)
    # spherical: the midpoint of two equal-norm vectors keeps that norm (lerp would shrink it)
    u, v = a / a.norm(), b / b.norm()
    assert slerp(0.5, u, v).norm().item() == pytest.approx(1.0, abs=1e-5)
    assert mid.shape == a.shape
    assert torch.allclose(slerp(0.3, a, 2 * a), 1.3 * a, atol=1e-5)  # colinear: lerp
    with pytest.raises(ValueError, match="needs the parameter t"):
        merge_tensor("slerp", a, [b], [1.0], [1.0])


def test_model_stock_identical_gives_the_finetune_orthogonal_gives_the_base():
    base = torch.zeros(2, 2)
    ft = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert torch.allclose(merge_tensor("model_stock", base, [ft, ft.clone()], [1, 1], [1, 1]), ft)
    x, y = torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.tensor([[0.0, 1.0], [0.0, 0.0]])
    assert torch.allclose(merge_tensor("model_stock", base, [x, y], [1, 1], [1, 1]), base)
    with pytest.raises(ValueError, match="at least two"):
        merge_tensor("model_stock", base, [x], [1], [1])


def test_slerp_config_needs_t():
    with pytest.raises(ConfigError, match=r"parameters\.t"):
        parse_config({"merge_method": "slerp", "base_model": "b", "models": ["a"]})
    parse_config({"merge_method": "slerp", "base_model": "b", "models": ["b", "a"], "parameters": {"t": 0.3}})


def test_row_knob_keeps_the_mask_and_each_rows_norm():
    d = _t(9, (12, 20)) * torch.linspace(0.1, 3.0, 12).view(-1, 1)
    ref, row = tswitch_tensor(d, 0.6), tswitch_tensor(d, 0.6, knob="row")
    assert torch.equal(ref.signs, row.signs) and row.knob.shape == (12,)
    kept = d * (row.signs != 0)
    assert torch.allclose(row.delta().norm(dim=1), kept.norm(dim=1), rtol=1e-5)
    assert (row.delta() - d).norm() < (ref.delta() - d).norm()  # rows of different scale: closer
    v = tswitch_tensor(_t(10, (30,)), 0.6, knob="row")  # a vector is one row: a single knob
    assert isinstance(v.knob, float)


def test_ties_opposite_equal_deltas_elect_plus_and_normalize_off_gives_weighted_delta():
    base = torch.zeros(3)
    d = torch.tensor([1.0, -2.0, 0.5])
    out = merge_tensor("ties", base, [base + d, base - d], [1.0, 1.0], [1.0, 1.0])
    assert torch.allclose(out, d.abs())  # the sum is 0 everywhere: + wins, only the + delta is kept
    single = merge_tensor("ties", base, [base + d], [0.4], [1.0], normalize=False)
    assert torch.allclose(single, 0.4 * d)
    assert torch.allclose(merge_tensor("ties", base, [base + d], [0.4], [1.0]), d)  # normalize: the fine-tune
