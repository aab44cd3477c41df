"""Delta-DCT math and baselines on in-memory tensors (no files)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from backend.compression import alloc, baselines, deltadct, methods
from backend.compression.bitpack import pack_codes, packed_nbytes, unpack_codes
from backend.compression.dct import dct2, dct2_loop, dct_matrix, from_patches, idct2, to_patches
from backend.compression.quant import dequantize, quantize


def structured_delta(rows=96, cols=80, seed=0) -> torch.Tensor:
    """Low rank plus noise plus a few strong rows: the shape of a real fine-tuning delta."""
    g = torch.Generator().manual_seed(seed)
    d = torch.randn(rows, 4, generator=g) @ torch.randn(4, cols, generator=g) * 3e-3
    d += torch.randn(rows, cols, generator=g) * 1e-3
    d[:5] *= 6
    return d


def rel(a, b):
    return float((a - b).norm() / b.norm())


def test_dct_is_orthonormal_and_batched_equals_loop():
    c = dct_matrix(8, dtype=torch.float64)
    assert torch.allclose(c @ c.T, torch.eye(8, dtype=torch.float64), atol=1e-12)
    x = torch.randn(37, 50)
    p = to_patches(x, 16)
    assert p.shape == (3 * 4, 16, 16)
    c16 = dct_matrix(16)
    y = dct2(p, c16)
    assert torch.allclose(y, dct2_loop(p, c16), atol=1e-6)
    assert torch.allclose(y.pow(2).sum(), x.pow(2).sum(), rtol=1e-5)        # energy kept
    assert torch.equal(from_patches(p, (37, 50), 16), x)                     # padding cropped
    assert torch.allclose(from_patches(idct2(y, c16), (37, 50), 16), x, atol=1e-6)


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 5, 7, 8, 12, 16])
def test_bitpack_roundtrip_and_exact_size(bits):
    rng = np.random.default_rng(bits)
    codes = rng.integers(0, 2 ** bits, size=1001)
    buf = pack_codes(codes, bits)
    assert buf.dtype == np.uint8 and buf.size == packed_nbytes(1001, bits)
    assert np.array_equal(unpack_codes(buf, bits, 1001), codes)
    with pytest.raises(ValueError):
        pack_codes(np.array([2 ** bits]), bits)


def test_one_bit_uniform_quantizer_is_the_l2_optimal_sign_code():
    x = torch.randn(6, 256)
    codes, s = quantize(x, 1)
    v = dequantize(codes, s, 1)
    assert torch.equal(torch.sign(v), torch.sign(x))
    assert torch.allclose(v.abs()[:, 0], x.abs().mean(1), rtol=0.05)   # 8-bit log-grid scale
    # min-max at 1 bit is worse than dropping (research note §2.4); uniform is not
    vm = dequantize(*quantize(x, 1, "minmax"), 1, "minmax")
    assert rel(vm, x) > 1.0 > 0.7 > rel(v, x)


def test_rd_allocation_meets_budget_and_follows_importance():
    e = torch.rand(500) ** 4
    w = alloc.allocate_rd(e, 256, 1.0 * 500 * 256)
    assert float(w.sum()) * 256 <= 500 * 256
    assert float(w.float().mean()) > 0.9                     # close to the budget, not far under
    order = torch.argsort(e, descending=True)
    assert bool((w[order][:-1] >= w[order][1:]).all())        # never fewer bits for a bigger patch
    m = alloc.allocate_mix(e, {2: 0.5, 0: 0.5})
    assert alloc.mix_of(m) == {0: 0.5, 2: 0.5} and bool((m[order[:250]] == 2).all())
    with pytest.raises(ValueError):
        alloc.parse_mix("2:0.5,0:0.4")


def test_delta_dct_near_lossless_at_16_bits_and_decoder_matches():
    d = structured_delta()
    fields, recon, info = deltadct.encode(d, 16.0, deltadct.DCTConfig())
    assert rel(recon, d) < 1e-3
    assert info["mix"] == {16: 1.0}
    assert torch.equal(deltadct.decode(fields, d.shape, deltadct.DCTConfig()), recon)


@pytest.mark.parametrize("cfg", [deltadct.DCTConfig(), deltadct.DCTConfig(rescale="ls", patch=8),
                                 deltadct.DCTConfig(quantizer="minmax", rescale="ls")])
def test_error_falls_monotonically_with_budget(cfg):
    d = structured_delta(seed=1)
    errs = [rel(deltadct.encode(d, b, cfg)[1], d) for b in (0.25, 0.5, 1, 2, 3, 4, 8, 16)]
    assert all(a > b for a, b in zip(errs, errs[1:])), errs


def test_payload_respects_the_budget_and_loop_matches_batched():
    d = structured_delta(rows=70, cols=45, seed=2)     # padding on both axes
    cfg = deltadct.DCTConfig()
    f1, r1, _ = deltadct.encode(d, 1.0, cfg)
    f2, r2, _ = deltadct.encode(d, 1.0, cfg, per_patch_loop=True)
    assert f1["codes"].numel() * 8 <= 1.0 * d.numel() + 8 * 4      # byte rounding per width only
    assert torch.equal(f1["codes"], f2["codes"]) and torch.equal(f1["bitmap"], f2["bitmap"])
    assert torch.allclose(r1, r2, atol=1e-6)


def test_decoder_rejects_fields_that_do_not_fit():
    d = structured_delta()
    fields, _, _ = deltadct.encode(d, 2.0, deltadct.DCTConfig())
    bad = dict(fields, codes=fields["codes"][:-10])
    with pytest.raises(ValueError, match="w.q"):
        deltadct.decode(bad, d.shape, deltadct.DCTConfig(), name="w.q")


@pytest.mark.parametrize("method", methods.METHODS)
def test_every_method_decodes_exactly_what_it_measured(method):
    d = structured_delta(seed=3)
    st = methods.default_settings(method)
    fields, recon, _ = methods.encode_tensor(method, "layer.w", d, 2.0, st)
    out = methods.decode_tensor(method, "layer.w", fields, tuple(d.shape), 2.0, st)
    assert torch.equal(out, recon)
    payload = sum(v.numel() * v.element_size() * 8 for k, v in fields.items() if k in methods.PAYLOAD[method])
    assert payload <= 2.0 * d.numel() * 1.01 + 64


def test_baseline_budgets_and_bitdelta_theory():
    g = torch.randn(256, 256, generator=torch.Generator().manual_seed(0)) * 1e-3
    _, r = baselines.bitdelta_encode(g, 1.0)
    assert abs(rel(r, g) - (1 - 2 / np.pi) ** 0.5) < 0.01          # √(1 − 2/π) for Gaussian deltas
    f, r = baselines.dare_encode(g, 1.0, "w", seed=0)
    assert abs(f["values"].numel() / g.numel() - 1 / 16) < 0.005
    f, _ = baselines.magnitude_encode(g, 1.0)
    assert f["index"].numel() == int(g.numel() / 48)
    f, r = baselines.lowrank_encode(g, 1.0)
    assert f["u"].shape == (256, 8)
