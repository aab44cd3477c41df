"""Merging inputs that used to slip through (issue #16): hostile YAML, bad weights, NaN tensors,
damaged T-Switch files."""
from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pytest
import torch

from backend.merging.config import ConfigError, load_config
from backend.merging.merge import run_merge
from backend.merging.tswitch import build_tswitch, read_switches

OK_HEAD = "merge_method: linear\nmodels:\n  - model: /x\n"


def _yaml(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yml"
    p.write_text(text)
    return p


def _laughs(levels: int = 9) -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        text += f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    return text


@pytest.mark.parametrize("text,match", [
    ("merge_method: linear\nbase_model: 12\nmodels:\n  - model: /x\n", "field 'base_model' must be a model folder"),
    ("merge_method: linear\nmodels:\n  - model: {a: 1}\n", r"field 'models\[0\].model' must be a model folder"),
    ("merge_method: linear\nmodels:\n  - model: [1, 2]\n", r"'models\[0\].model'"),
    (OK_HEAD + "    parameters: {weight: .nan}\n", r"models\[0\].parameters.weight: nan is not a finite number"),
    (OK_HEAD + "    parameters: {weight: .inf}\n", r"models\[0\].parameters.weight: inf is not a finite"),
    (OK_HEAD + "    parameters: {weight: [0.5, .nan]}\n", "gradient holds nan"),
    (OK_HEAD + "    parameters: {weight: 0}\n  - model: /y\n    parameters: {weight: 0.0}\n", "every 'weight' 0"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 32"),
    ("".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "v: 1\n", "nested deeper than 32"),
    (_laughs(), "aliases expand past"),
])
def test_hostile_or_bad_yaml_is_one_line_naming_the_problem(tmp_path, text, match):
    t = time.monotonic()
    with pytest.raises(ConfigError, match=match) as info:
        load_config(_yaml(tmp_path, text))
    assert time.monotonic() - t < 5
    assert "\n" not in str(info.value) and str(tmp_path / "c.yml") in str(info.value)


def test_small_aliases_and_big_files(tmp_path):
    cfg = load_config(_yaml(tmp_path, "merge_method: linear\nmodels:\n  - model: /x\n    parameters: {weight: &w 0.5}\n"
                                      "  - model: /y\n    parameters: {weight: *w}\n"))
    assert [m.parameters["weight"] for m in cfg.models] == [0.5, 0.5]
    big = _yaml(tmp_path, OK_HEAD + "#" * (1 << 20))
    with pytest.raises(ConfigError, match="at most"):
        load_config(big)


def _make(folder: Path, seed: int, base: Path | None = None) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=24, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg)
    if base is not None:
        sd = LlamaForCausalLM.from_pretrained(str(base)).state_dict()
        model.load_state_dict({k: v + 0.01 * torch.randn(v.shape) for k, v in sd.items()})
    model.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def trio(tmp_path_factory):
    root = tmp_path_factory.mktemp("merge-hard")
    base = _make(root / "base", 0)
    return base, _make(root / "ft1", 1, base), _make(root / "ft2", 2, base)


def test_nan_in_a_finetune_is_reported_not_dropped_by_ties(trio, tmp_path):
    from safetensors.torch import load_file, save_file

    from backend.merging.config import parse_config

    base, ft1, ft2 = trio
    bad = tmp_path / "bad"
    bad.mkdir()
    for p in ft2.iterdir():
        (bad / p.name).write_bytes(p.read_bytes())
    sd = load_file(str(bad / "model.safetensors"))
    name = min(k for k in sd if sd[k].dim() == 2)
    sd[name][0, 0] = float("nan")
    save_file(sd, str(bad / "model.safetensors"), metadata={"format": "pt"})
    cfg = parse_config({"merge_method": "ties", "base_model": str(base),
                        "models": [{"model": str(ft1), "parameters": {"weight": 1.0, "density": 0.5}},
                                   {"model": str(bad), "parameters": {"weight": 1.0, "density": 0.5}}]})
    with pytest.raises(ValueError, match=f"model.safetensors: tensor {name} holds 1 NaN/Inf"):
        run_merge(cfg, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_linear_with_zero_weights_for_a_tensor_is_refused(trio, tmp_path):
    from backend.merging.config import parse_config

    _, ft1, ft2 = trio
    zero = [{"filter": "mlp", "value": 0.0}, {"value": 1.0}]
    cfg = parse_config({"merge_method": "linear", "models": [{"model": str(ft1), "parameters": {"weight": zero}},
                                                              {"model": str(ft2), "parameters": {"weight": zero}}]})
    with pytest.raises(ValueError, match="every model's weight is 0 for tensor .*mlp"):
        run_merge(cfg, tmp_path / "out")


def _flip_in(path: Path, key: str, n: int = 4) -> None:
    raw = bytearray(path.read_bytes())
    head = 8 + struct.unpack("<Q", raw[:8])[0]
    lo, hi = json.loads(raw[8:head])[key]["data_offsets"]
    for i in range(head + lo, head + min(hi, lo + n)):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_damaged_tswitch_file_fails_naming_the_tensor(trio, tmp_path):
    base, ft1, _ = trio
    info = build_tswitch(base, {"a": ft1}, 0.5, tmp_path / "ts")
    assert len(info["tasks"]["a"]["sha256"]) == 64 and info["tasks"]["a"]["crc32"]
    read_switches(tmp_path / "ts", "a")                         # intact: reads
    name = next(n for n, s in info["tensors"].items() if len(s) == 2)
    _flip_in(tmp_path / "ts" / "a.safetensors", f"{name}::signs")
    with pytest.raises(ValueError, match=f"a.safetensors: damaged: the bytes of tensor {name} "):
        read_switches(tmp_path / "ts", "a")


def test_absurd_tswitch_knob_is_refused(trio, tmp_path):
    from safetensors.numpy import load_file, save_file

    base, ft1, _ = trio
    info = build_tswitch(base, {"a": ft1}, 0.5, tmp_path / "ts")
    name = next(n for n, s in info["tensors"].items() if len(s) == 2)
    arrays = load_file(str(tmp_path / "ts" / "a.safetensors"))
    arrays[f"{name}::knob"][:] = 1e30
    save_file(arrays, str(tmp_path / "ts" / "a.safetensors"))
    meta = json.loads((tmp_path / "ts" / "tswitch.json").read_text())
    del meta["tasks"]["a"]["sha256"]  # a file that passes (no digest): the range check still holds
    (tmp_path / "ts" / "tswitch.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=f"tensor {name}: the knob reaches 1e\\+30"):
        read_switches(tmp_path / "ts", "a")
