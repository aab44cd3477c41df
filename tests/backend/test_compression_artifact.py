"""Artifacts on tiny random Llama folders: sizes, round trips, errors, CLI and jobs."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from backend.compression import apply_artifact, compress, decompress
from backend.compression.model_io import index_tensors, read_tensor


def _folder_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def _make(folder: Path, seed: int, base: Path | None = None, hidden: int = 32) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=48, hidden_size=hidden, intermediate_size=48, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg)
    if base is not None:
        sd = LlamaForCausalLM.from_pretrained(str(base)).state_dict()
        g = torch.Generator().manual_seed(seed)
        for k, v in sd.items():     # low rank + noise delta, like a fine-tune
            if v.dim() == 2:
                u, w = torch.randn(v.shape[0], 2, generator=g), torch.randn(2, v.shape[1], generator=g)
                sd[k] = v + 2e-3 * (u @ w) + 5e-4 * torch.randn(v.shape, generator=g)
            else:
                sd[k] = v + 1e-3
        model.load_state_dict(sd)
    model.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("cmp")
    base = _make(root / "base", 0)
    ft = _make(root / "ft", 1, base=base)
    other = _make(root / "other", 5)
    return base, ft, other


@pytest.mark.parametrize("method", ["delta-dct", "bitdelta", "dare", "magnitude", "lowrank"])
def test_sizes_match_disk_and_apply_is_exact(pair, tmp_path, method):
    base, ft, _ = pair
    before = _folder_hash(base) + _folder_hash(ft)
    s = compress(base, ft, tmp_path / "art", method=method, bits=2.0, keep_recon=True)
    z = s["sizes"]
    assert z["accounting_deviation"] < 0.01
    on_disk = (tmp_path / "art" / "delta.safetensors").stat().st_size + (tmp_path / "art" / "delta.json").stat().st_size
    assert abs(on_disk - z["accounted_bytes"]) <= 0.01 * on_disk
    assert z["payload_bpp"] <= 2.0 * 1.02
    assert z["exact_params"] > 0 and all(n.endswith("norm.weight") for n in s["exact_tensors"])
    sd = apply_artifact(tmp_path / "art", base)
    for k, v in s["recon"].items():
        assert torch.equal(sd[k], v), k
    assert _folder_hash(base) + _folder_hash(ft) == before          # inputs untouched


def test_decompress_writes_a_loadable_folder_close_at_16_bits(pair, tmp_path):
    """Dimensions are multiples of the patch size here: padding would spend part of the budget."""
    from transformers import AutoModelForCausalLM

    base, ft, _ = pair
    compress(base, ft, tmp_path / "art", bits=16.0)
    res = decompress(tmp_path / "art", base, tmp_path / "out")
    assert res["files"] == ["model.safetensors"] and (tmp_path / "out" / "config.json").is_file()
    model = AutoModelForCausalLM.from_pretrained(str(tmp_path / "out"))
    ref, b = index_tensors(ft), index_tensors(base)
    got = model.state_dict()
    for name, e in ref.items():
        d_true = read_tensor(e) - read_tensor(b[name])
        d_got = got[name] - read_tensor(b[name])
        assert float((d_got - d_true).norm() / d_true.norm()) < 1e-3, name
    with pytest.raises(FileExistsError, match="already exists"):
        decompress(tmp_path / "art", base, tmp_path / "out")


def test_error_shrinks_with_budget_on_a_model(pair, tmp_path):
    base, ft, _ = pair
    errs = [compress(base, ft, tmp_path / f"a{b}", bits=b)["rel_err"] for b in (0.5, 1, 2, 4, 8)]
    assert all(x > y for x, y in zip(errs, errs[1:])), errs


def test_wrong_base_corrupt_artifact_and_shape_mismatch(pair, tmp_path):
    base, ft, other = pair
    art = tmp_path / "art"
    compress(base, ft, art, bits=1.0)
    with pytest.raises(ValueError, match="is not the base model of"):
        apply_artifact(art, other)
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in ("delta.json", "delta.safetensors"):
        (bad / f).write_bytes((art / f).read_bytes())
    blob = (bad / "delta.safetensors").read_bytes()
    (bad / "delta.safetensors").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="delta.safetensors"):
        apply_artifact(bad, base)
    (bad / "delta.safetensors").write_bytes(blob)
    (bad / "delta.json").write_text("{not json")
    with pytest.raises(ValueError, match="delta.json"):
        apply_artifact(bad, base)
    meta = json.loads((art / "delta.json").read_text())
    meta["tensors"] = meta["tensors"][1:]                      # one tensor fewer than the data holds
    (bad / "delta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="do not match the stored data"):
        apply_artifact(bad, base)
    wide = _make(tmp_path / "wide", 3, hidden=64)
    with pytest.raises(ValueError, match=r"model.safetensors: tensor .* has shape"):
        compress(base, wide, tmp_path / "x", bits=1.0)
    assert not (tmp_path / "x").exists()


def test_cli_compress_and_decompress_json(pair, tmp_path, capsys):
    from backend.cli import main

    base, ft, _ = pair
    ws = str(tmp_path / "ws")
    rc = main(["--workspace", ws, "compress", str(base), str(ft), "--method", "delta-dct", "--bits", "1",
               "--out", str(tmp_path / "art"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["status"] == "succeeded"
    r = out["result"]
    assert r["sizes"]["total_bpp"] < 4 and Path(r["bitmaps_file"]).is_file()
    rc = main(["--workspace", ws, "decompress", str(tmp_path / "art"), "--base", str(base), "--out",
               str(tmp_path / "dec"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["result"]["tensors"] == len(index_tensors(ft))
    rc = main(["--workspace", ws, "decompress", str(tmp_path / "art"), "--base", str(tmp_path / "nope"),
               "--out", str(tmp_path / "dec2"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1 and "nope" in out["error"]
    assert main(["--workspace", ws, "compress", str(base), str(ft), "--out", str(tmp_path / "art")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_cli_compress_sweep_table(pair, tmp_path, capsys):
    """The panel's rate-distortion sweep from the command line: methods x budgets, each point measured."""
    from backend.cli import main

    base, ft, _ = pair
    ws = str(tmp_path / "ws")
    rc = main(["--workspace", ws, "compress", str(base), str(ft), "--bits", "1", "--no-eval", "--out",
               str(tmp_path / "art"), "--sweep-methods", "delta-dct,lowrank", "--sweep-bits", "1,2"])
    text = capsys.readouterr().out
    rows = [line.split() for line in text.splitlines()[text.splitlines().index(
        next(x for x in text.splitlines() if "rate-distortion sweep" in x)) + 1:]]
    assert rc == 0 and [(r[0], r[1]) for r in rows] == [("delta-dct", "1"), ("delta-dct", "2"), ("lowrank", "1"),
                                                          ("lowrank", "2")]
    errs = {r[0] + r[1]: float(r[4]) for r in rows}
    assert errs["delta-dct2"] < errs["delta-dct1"] and all(r[5] == "-" for r in rows)   # no eval: no accuracy
    assert main(["--workspace", ws, "compress", str(base), str(ft), "--out", str(tmp_path / "b"),
                 "--sweep-bits", "1"]) == 2
    assert "go together" in capsys.readouterr().err


@pytest.mark.slow
def test_zoo_job_measures_accuracy_and_sweep(tiny_zoo, tmp_path):
    from backend.jobs import JobSpec, Runner

    runner = Runner(scratch_dir=tmp_path)
    spec = JobSpec("compression.compress", params={"bits": 2.0, "eval_limit": 8,
                                                   "sweep": {"methods": ["delta-dct", "bitdelta"], "bits": [1, 4]}},
                   inputs={"base": str(tiny_zoo / "arith-base"), "ft": str(tiny_zoo / "arith-ft-add")}, device="cpu")
    h = runner.submit(spec)
    assert h.wait(120) == "succeeded", h.error
    r = h.result
    assert r["accuracy"]["n"] == 8 and 0 <= r["accuracy"]["compressed"] <= 1
    assert len(r["sweep"]) == 4 and all("accuracy" in p for p in r["sweep"])
    dct = [p["rel_err"] for p in r["sweep"] if p["method"] == "delta-dct"]
    assert dct[0] > dct[1]


def test_format_1_artifacts_still_apply(pair, tmp_path):
    """Artifacts written before the single lengths table (one ``n.<field>`` per field, a dtype per
    tensor entry) decode to the same weights."""
    from safetensors.torch import load_file, save_file

    base, ft, _ = pair
    s = compress(base, ft, tmp_path / "art", "delta-dct", 1.0, keep_recon=True)
    meta = json.loads((tmp_path / "art" / "delta.json").read_text())
    data = load_file(str(tmp_path / "art" / "delta.safetensors"))
    table = data.pop("lengths")
    del data["crc"], data["crc_x"], meta["payload_sha256"]  # digests came with format /3
    for k, row in zip(meta.pop("fields"), table):
        data["n." + k] = row.clone()
    meta["tensors"] = [[n, shape, meta["dtype"]] for n, shape in meta["tensors"]]
    del meta["dtype"]
    meta["format"] = "benchtop-delta/1"
    old = tmp_path / "old"
    old.mkdir()
    save_file(data, str(old / "delta.safetensors"))
    (old / "delta.json").write_text(json.dumps(meta))
    applied = apply_artifact(old, base)
    for name, w in s["recon"].items():
        assert torch.equal(applied[name], w), name
