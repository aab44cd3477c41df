"""Scale distillation: stored scales refitted on calibration text, same size, exact decoding."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from backend.compression import apply_artifact, compress
from backend.compression import deltadct
from backend.compression.distill import load_texts


def _texts(tiny_zoo: Path, tmp_path: Path) -> Path:
    """Calibration text that is none of the fine-tunes' tasks: the zoo's chain problems."""
    return tiny_zoo / "data" / "problems_train.jsonl"


def _fields(art: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(art / "delta.safetensors"))


@pytest.mark.parametrize("method", ["delta-dct", "bitdelta"])
def test_distillation_lowers_kl_keeps_size_and_decodes_exactly(tiny_zoo, tmp_path, method):
    base, ft = tiny_zoo / "arith-base", tiny_zoo / "arith-ft-add"
    cal = _texts(tiny_zoo, tmp_path)
    plain = compress(base, ft, tmp_path / "plain", method, 1.0)
    s = compress(base, ft, tmp_path / "dist", method, 1.0, keep_recon=True,
                 distill={"file": str(cal), "steps": 30, "lr": 2e-2})
    d = s["distill"]
    assert d["kl_after"] < d["kl_before"], d
    assert d["file"] == cal.name and d["steps"] == 30
    meta = json.loads((tmp_path / "dist" / "delta.json").read_text())
    assert meta["distill"]["kl"] == [round(d["kl_before"], 4), round(d["kl_after"], 4)]
    # same codes and the same number of stored scales: only scale values changed
    a, b = _fields(tmp_path / "plain"), _fields(tmp_path / "dist")
    payload = "f.codes" if method == "delta-dct" else "f.signs"
    scales = "f.params" if method == "delta-dct" else "f.scales"
    assert torch.equal(a[payload], b[payload])
    assert a[scales].shape == b[scales].shape and not torch.equal(a[scales], b[scales])
    assert s["sizes"]["payload_bits"] == plain["sizes"]["payload_bits"]
    assert s["sizes"]["field_metadata_bits"] == plain["sizes"]["field_metadata_bits"]
    assert s["sizes"]["accounting_deviation"] < 0.01
    # the decoder gives exactly what distillation measured
    applied = apply_artifact(tmp_path / "dist", base)
    for name, w in s["recon"].items():
        assert torch.equal(applied[name], w), name


def test_patch_scales_move_on_the_stored_grid():
    g = torch.Generator().manual_seed(0)
    delta = torch.randn(40, 35, generator=g)
    cfg = deltadct.DCTConfig()
    fields, rec, _ = deltadct.encode(delta, 2.0, cfg)
    grid = (math.ceil(40 / cfg.patch), math.ceil(35 / cfg.patch))
    steps = torch.randint(-3, 4, grid, generator=g).float()
    log_mult = steps * math.log(2) / 8
    moved = deltadct.decode(deltadct.rescale_fields(fields, (40, 35), cfg, log_mult), (40, 35), cfg)
    factor = torch.exp2(steps / 8).repeat_interleave(cfg.patch, 0).repeat_interleave(cfg.patch, 1)[:40, :35]
    assert torch.allclose(moved, rec * factor, rtol=1e-5, atol=1e-5)
    whole = deltadct.decode(deltadct.rescale_fields(fields, (40, 35), cfg, torch.tensor(0.25)), (40, 35), cfg)
    assert torch.allclose(whole, rec * math.exp(0.25), rtol=1e-5, atol=1e-5)


def test_calibration_files_and_their_errors(tmp_path):
    txt = tmp_path / "cal.txt"
    txt.write_text("first line\n\nsecond line\n")
    assert load_texts(txt) == ["first line", "second line"]
    rows = [{"text": "a whole text"}, {"prompt": "add(2,3)=", "answer": "5"},
            {"problem": "(2+3)*4", "answer": "20"}, {"question": "why?"}]
    jl = tmp_path / "cal.jsonl"
    jl.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert load_texts(jl) == ["a whole text", "add(2,3)=5", "(2+3)*4\n20", "why?"]
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        load_texts(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("\n \n")
    with pytest.raises(ValueError, match="empty.txt: no calibration text"):
        load_texts(tmp_path / "empty.txt")
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\n{broken\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not JSON"):
        load_texts(tmp_path / "bad.jsonl")
    (tmp_path / "odd.jsonl").write_text('{"level": 3}\n')
    with pytest.raises(ValueError, match=r"odd.jsonl:1: needs a 'text' field"):
        load_texts(tmp_path / "odd.jsonl")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ValueError, match="bin.txt: not UTF-8"):
        load_texts(tmp_path / "bin.txt")


def test_unsupported_method_and_cancel_leave_nothing(tiny_zoo, tmp_path):
    from backend.jobs import JobCancelled as Cancelled

    base, ft = tiny_zoo / "arith-base", tiny_zoo / "arith-ft-add"
    cal = _texts(tiny_zoo, tmp_path)
    with pytest.raises(ValueError, match="applies to delta-dct and bitdelta, not 'dare'"):
        compress(base, ft, tmp_path / "a", "dare", 1.0, distill={"file": str(cal)})
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        if calls["n"] > 40:      # past encoding, inside the distillation loop
            raise Cancelled()

    with pytest.raises(Cancelled):
        compress(base, ft, tmp_path / "b", "delta-dct", 1.0, distill={"file": str(cal), "steps": 500}, cancel=cancel)
    assert not (tmp_path / "b").exists() and not (tmp_path / "a").exists()


def test_cli_distill_flags(tiny_zoo, tmp_path, capsys):
    from backend.cli.parser import main

    base, ft = str(tiny_zoo / "arith-base"), str(tiny_zoo / "arith-ft-add")
    ws = str(tmp_path / "ws")
    assert main(["--workspace", ws, "compress", base, ft, "--out", str(tmp_path / "a"), "--distill-steps", "5"]) == 2
    assert "need --distill" in capsys.readouterr().err
    rc = main(["--workspace", ws, "compress", base, ft, "--out", str(tmp_path / "b"), "--no-eval", "--json",
               "--distill", str(_texts(tiny_zoo, tmp_path)), "--distill-steps", "10"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["result"]["distill"]["steps"] == 10
    assert out["result"]["distill"]["kl_after"] < out["result"]["distill"]["kl_before"]
