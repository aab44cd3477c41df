"""FoPE lab core: FoPE's construction, its degenerate case, save/load, convert, the needle task."""
from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from backend.positions.attention import apply_positions
from backend.positions.data import VALUE_LEN, CharTokenizer, needle_window
from backend.positions.encodings import Fourier, alibi_slopes
from backend.positions.model import (
    build_tiny,
    convert,
    load_model,
    save_model,
    spectrum,
)
from backend.positions.settings import PositionConfig


def _ids(n=60, length=50, seed=0):
    return torch.randint(0, n, (2, length), generator=torch.Generator().manual_seed(seed))


def test_fope_degenerates_to_rope_exactly():
    rope = build_tiny(60, PositionConfig(kind="rope"), layers=2, d_model=64, heads=4).eval()
    fope = build_tiny(60, PositionConfig(kind="fope", clip=False, sigma=0.0, cap="none"), layers=2, d_model=64,
                      heads=4).eval()
    fope.load_state_dict(rope.state_dict(), strict=False)   # same weights; fope adds identity coefficients
    x = _ids()
    with torch.no_grad():
        assert torch.equal(rope(x).logits, fope(x).logits)
        # the FoPE parts really change the function when switched on
        for cfg in (PositionConfig(kind="fope", clip=True, sigma=0.0, cap="none"),
                    PositionConfig(kind="fope", clip=False, sigma=0.3, cap="none"),
                    PositionConfig(kind="fope", clip=False, sigma=0.0, cap="quarter")):
            other = build_tiny(60, cfg, layers=2, d_model=64, heads=4).eval()
            other.load_state_dict(rope.state_dict(), strict=False)
            assert not torch.allclose(rope(x).logits, other(x).logits, atol=1e-4), cfg


@pytest.mark.parametrize("head_dim,train_len,d_in,d_out", [(64, 512, 16, 16), (64, 1024, 18, 16),
                                                          (128, 512, 31, 31), (32, 64, 5, 5)])
def test_floor_clip_counts_match_the_reference(head_dim, train_len, d_in, d_out):
    inv = 1.0 / (10000 ** (torch.arange(0, head_dim, 2).float() / head_dim))
    f = Fourier(inv, 4, PositionConfig(kind="fope", train_len=train_len))
    assert (f.d_in, f.d_out) == (d_in, d_out)
    assert bool((inv[f.kept] >= 2 * math.pi / train_len).all())
    # step identity + small noise: the dominant entry of each output column is its own frequency
    assert torch.equal(f.cos_coef.abs().argmax(dim=1)[0], (torch.arange(d_out) * d_in) // d_out)
    spec = f.spectrum()
    energy = np.array(spec["energy"])
    clipped = [i for i in range(head_dim // 2) if i not in spec["kept"]]
    assert energy[:, :, clipped].sum() == 0 and energy[:, d_out:, :].sum() == 0


def test_alibi_slopes_and_needle_window():
    assert torch.allclose(alibi_slopes(8), torch.tensor([2.0 ** -(i + 1) for i in range(8)]))
    assert len(alibi_slopes(6)) == 6
    tok = CharTokenizer.fit("some plain text for the filler " * 10)
    ids = tok.encode("some plain text for the filler " * 10)
    seq, first = needle_window(tok, ids, 64, random.Random(1))
    assert len(seq) == 65
    text = tok.decode(seq)
    key_value = text[text.index("⟦") + 1: text.index("⟧")]
    assert text.endswith("⟦" + key_value) and text[first + 1: first + 1 + VALUE_LEN] == key_value[-VALUE_LEN:]


@pytest.mark.parametrize("kind", ["fope", "alibi", "nope"])
def test_save_load_round_trip(tmp_path, kind):
    model = build_tiny(60, PositionConfig(kind=kind, train_len=32, sigma=0.5, seed=3), layers=2, d_model=32,
                       heads=2).eval()
    with torch.no_grad():
        for p in model.parameters():       # coefficients that are not the seed's initial ones
            p.add_(0.01 * torch.randn_like(p))
    save_model(model, tmp_path / "m")
    loaded, cfg = load_model(tmp_path / "m")
    assert cfg.kind == kind and cfg.train_len == 32
    x = _ids()
    with torch.no_grad():
        assert torch.equal(model(x).logits, loaded(x).logits)
        # plain transformers builds RoPE attention: a different function (what POSITIONS.md warns of)
        from transformers import AutoModelForCausalLM

        plain = AutoModelForCausalLM.from_pretrained(str(tmp_path / "m")).eval()
        assert not torch.allclose(plain(x).logits, model(x).logits, atol=1e-3)
    assert "plain transformers" in (tmp_path / "m" / "POSITIONS.md").read_text()
    assert spectrum(loaded)["kind"] == kind


def _plain_model(kind: str):
    if kind == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM

        conf = LlamaConfig(vocab_size=70, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
        return LlamaForCausalLM(conf)
    from transformers import Qwen2Config, Qwen2ForCausalLM

    conf = Qwen2Config(vocab_size=70, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    return Qwen2ForCausalLM(conf)


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_convert_keeps_logits(tmp_path, arch):
    torch.manual_seed(0)
    src = _plain_model(arch).eval()
    src.save_pretrained(tmp_path / "src")
    result = convert(tmp_path / "src", tmp_path / "out", PositionConfig(kind="fope", clip=False, sigma=0.0,
                                                                         cap="none", train_len=256))
    assert result["carrying_pairs"] == 6 and result["layers"] == 2
    model, cfg = load_model(tmp_path / "out")
    x = _ids(70, 40)
    with torch.no_grad():
        assert torch.allclose(src(x).logits, model(x).logits, atol=1e-5)
        # FoPE switched on for fine-tuning changes the function
        on = apply_positions(_plain_model(arch).eval(), PositionConfig(kind="fope", train_len=8, sigma=0.3))
        on.load_state_dict(src.state_dict(), strict=False)
        assert not torch.allclose(src(x).logits, on(x).logits, atol=1e-4)
    with pytest.raises(ValueError, match="already has a Benchtop position scheme"):
        convert(tmp_path / "out", tmp_path / "again", cfg)
