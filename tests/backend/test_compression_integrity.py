"""Artifacts verify themselves (issue #16 item 4): damaged bytes, absurd scales, bad bit budgets."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch

from backend.compression import apply_artifact, compress
from backend.compression import integrity as ig


def _make(folder: Path, seed: int, base: Path | None = None) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=48, hidden_size=32, intermediate_size=48, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg)
    if base is not None:
        sd = LlamaForCausalLM.from_pretrained(str(base)).state_dict()
        g = torch.Generator().manual_seed(seed)
        model.load_state_dict({k: v + 2e-3 * torch.randn(v.shape, generator=g) for k, v in sd.items()})
    model.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def art(tmp_path_factory):
    root = tmp_path_factory.mktemp("integrity")
    base = _make(root / "base", 0)
    ft = _make(root / "ft", 1, base=base)
    compress(base, ft, root / "art", "delta-dct", 2.0)
    return base, root / "art"


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for p in src.iterdir():
        if p.is_file():
            (dst / p.name).write_bytes(p.read_bytes())
    return dst


def _layout(path: Path) -> tuple[int, dict]:
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    return 8 + n, json.loads(raw[8:8 + n])


def _flip(path: Path, start: int, count: int = 64) -> None:
    raw = bytearray(path.read_bytes())
    for i in range(start, start + count):
        raw[i] ^= 0x5A
    path.write_bytes(bytes(raw))


def _decompress_cli(art: Path, base: Path, out: Path, tmp_path: Path, capsys) -> tuple[int, list[str]]:
    from backend.cli import main

    rc = main(["--workspace", str(tmp_path / "ws"), "decompress", str(art), "--base", str(base), "--out", str(out)])
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    return rc, errors


def _slice_owner(art: Path, field: str, offset_in_field: int) -> str:
    """Which compressed tensor's slice of ``field`` holds byte ``offset_in_field``."""
    from safetensors.torch import load_file

    meta = json.loads((art / "delta.json").read_text())
    data = load_file(str(art / "delta.safetensors"))
    row = data["lengths"][meta["fields"].index(field)].long()
    item = data["f." + field].element_size()
    ends = torch.cumsum(row, 0) * item
    return meta["tensors"][int((ends <= offset_in_field).sum())][0]


def test_flipped_payload_bytes_fail_decompress_naming_the_tensor(art, tmp_path, capsys):
    base, good = art
    bad = _copy(good, tmp_path / "bad")
    head, layout = _layout(bad / "delta.safetensors")
    lo, hi = layout["f.codes"]["data_offsets"]
    at = lo + (hi - lo) // 2
    _flip(bad / "delta.safetensors", head + at, 64)       # 64 flipped bytes, as in the issue
    expected = _slice_owner(good, "codes", at - lo)
    with pytest.raises(ValueError, match=f"tensor {expected}"):
        apply_artifact(bad, base)
    rc, errors = _decompress_cli(bad, base, tmp_path / "out", tmp_path, capsys)
    assert rc != 0 and len(errors) == 1 and f"tensor {expected}" in errors[0], errors
    assert not (tmp_path / "out").exists()                # not a single weight written


def test_flipped_bytes_of_an_exact_tensor_are_named(art, tmp_path):
    base, good = art
    bad = _copy(good, tmp_path / "bad")
    head, layout = _layout(bad / "delta.safetensors")
    name = next(k for k in layout if k.startswith("x."))
    lo, _ = layout[name]["data_offsets"]
    _flip(bad / "delta.safetensors", head + lo, 4)
    with pytest.raises(ValueError, match=f"tensor {name[2:]}"):
        apply_artifact(bad, base)


def _forge(good: Path, dst: Path, edit) -> Path:
    """A copy whose data was edited and whose digests were recomputed: consistent bytes, absurd values."""
    from safetensors.torch import load_file, save

    dst = _copy(good, dst)
    meta = json.loads((dst / "delta.json").read_text())
    data = load_file(str(dst / "delta.safetensors"))
    edit(data, meta)
    starts = {}
    for k, row in zip(meta["fields"], data["lengths"]):
        starts[k] = [0] + torch.cumsum(row.long(), 0).tolist()
    data["crc"] = torch.tensor([ig.crc32(data["f." + k][starts[k][i]:starts[k][i + 1]] for k in meta["fields"])
                                for i in range(len(meta["tensors"]))], dtype=torch.int32)
    blob = save(data)
    meta["payload_sha256"] = ig.sha256(blob)
    (dst / "delta.safetensors").write_bytes(blob)
    (dst / "delta.json").write_text(json.dumps(meta))
    return dst


def test_absurd_alpha_fails_decompress_naming_the_tensor(art, tmp_path, capsys):
    base, good = art

    def huge_alpha(data, meta):
        data["f.alpha"][1] = 1e30

    bad = _forge(good, tmp_path / "bad", huge_alpha)
    name = json.loads((bad / "delta.json").read_text())["tensors"][1][0]
    with pytest.raises(ValueError, match=f"tensor {name}: field alpha reaches 1e\\+30"):
        apply_artifact(bad, base)
    rc, errors = _decompress_cli(bad, base, tmp_path / "out", tmp_path, capsys)
    assert rc != 0 and len(errors) == 1 and f"tensor {name}" in errors[0], errors
    assert not (tmp_path / "out").exists()

    def nan_alpha(data, meta):
        data["f.alpha"][0] = float("nan")

    bad2 = _forge(good, tmp_path / "bad2", nan_alpha)
    with pytest.raises(ValueError, match="non-finite"):
        apply_artifact(bad2, base)


def test_forged_artifact_still_applies_when_values_are_sane(art, tmp_path):
    base, good = art
    same = _forge(good, tmp_path / "same", lambda data, meta: None)
    a, b = apply_artifact(same, base), apply_artifact(good, base)
    assert all(torch.equal(a[k], b[k]) for k in b)


def test_damaged_container_header_is_refused(art, tmp_path):
    base, good = art
    bad = _copy(good, tmp_path / "bad")
    meta = json.loads((bad / "delta.json").read_text())
    meta["payload_sha256"] = "0" * 64
    (bad / "delta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="container"):
        apply_artifact(bad, base)


@pytest.mark.parametrize("bits,method", [("nan", "delta-dct"), ("inf", "delta-dct"), ("-inf", "dare"),
                                         ("17", "delta-dct"), ("0", "delta-dct"), ("0.5", "bitdelta"),
                                         ("49", "magnitude")])
def test_bad_bits_are_refused_with_the_valid_range(art, tmp_path, capsys, bits, method):
    from backend.cli import main

    base, _ = art
    rc = main(["--workspace", str(tmp_path / "ws"), "compress", str(base), str(base), "--method", method,
               f"--bits={bits}", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: --bits for ") and "]" in err[0], err
    assert not (tmp_path / "o").exists()


def test_non_finite_bits_in_delta_json_are_refused(art, tmp_path):
    base, good = art
    bad = _copy(good, tmp_path / "bad")
    text = (bad / "delta.json").read_text()
    meta = json.loads(text)
    (bad / "delta.json").write_text(text.replace(f'"bits":{json.dumps(meta["bits"])}', '"bits":NaN'))
    with pytest.raises(ValueError, match="delta.json: its bit budget"):
        apply_artifact(bad, base)


def test_delta_json_is_standard_json(art):
    _, good = art
    json.loads((good / "delta.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-standard {c}"))
