"""Merges, T-Switch and Auto-Switch on real model folders (the tiny zoo), bad input, the CLI."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch

from backend.compression.model_io import index_tensors, read_tensor
from backend.merging.config import parse_config
from backend.merging.merge import run_merge
from backend.merging.tswitch import build_tswitch, compose_state, read_switches, tswitch_tensor

TASKS = ("add", "sub", "mul", "upper")


def _hash(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def _cfg(method: str, zoo: Path, models: list[str], **params) -> object:
    return parse_config({"merge_method": method, "base_model": str(zoo / "arith-base"),
                         "models": [{"model": str(zoo / m), "parameters": {"weight": 1.0}} for m in models],
                         "parameters": params})


def test_merge_of_identical_models_loads_and_equals_the_model(tiny_zoo, tmp_path):
    from transformers import AutoModelForCausalLM

    ft = tiny_zoo / "arith-ft-add"
    cfg = _cfg("ties", tiny_zoo, ["arith-ft-add", "arith-ft-add"])
    res = run_merge(cfg, tmp_path / "m", max_shard_bytes=20_000)  # force several shards
    assert len(res["files"]) > 1 and (tmp_path / "m" / "model.safetensors.index.json").is_file()
    model = AutoModelForCausalLM.from_pretrained(str(tmp_path / "m"))
    ref = {n: read_tensor(e) for n, e in index_tensors(ft).items()}
    for n, p in model.state_dict().items():
        if n in ref:
            assert torch.allclose(p, ref[n], atol=1e-6), n


def test_task_arithmetic_folder_matches_tensor_math(tiny_zoo, tmp_path):
    cfg = _cfg("task_arithmetic", tiny_zoo, ["arith-ft-add", "arith-ft-sub"], **{"lambda": 0.5})
    run_merge(cfg, tmp_path / "m")
    out, base = index_tensors(tmp_path / "m"), index_tensors(tiny_zoo / "arith-base")
    a, s = index_tensors(tiny_zoo / "arith-ft-add"), index_tensors(tiny_zoo / "arith-ft-sub")
    name = next(n for n in out if n.endswith("q_proj.weight"))
    b = read_tensor(base[name])
    want = b + 0.5 * ((read_tensor(a[name]) - b) + (read_tensor(s[name]) - b))
    assert torch.allclose(read_tensor(out[name]), want, atol=1e-6)


def _copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_bad_inputs_name_the_file_and_tensor_and_overwrite_nothing(tiny_zoo, tmp_path):
    from safetensors.torch import load_file, save_file

    ft = _copy_model(tiny_zoo / "arith-ft-add", tmp_path / "ft")
    before = _hash(ft)
    # a missing tensor
    miss = _copy_model(ft, tmp_path / "miss")
    sd = load_file(str(miss / "model.safetensors"))
    gone = sorted(sd)[3]
    del sd[gone]
    save_file(sd, str(miss / "model.safetensors"))
    cfg = parse_config({"merge_method": "ties", "base_model": str(tiny_zoo / "arith-base"),
                        "models": [{"model": str(ft)}, {"model": str(miss)}]})
    with pytest.raises(ValueError, match=rf"{miss}.*{gone}.*missing"):
        run_merge(cfg, tmp_path / "o1")
    # a different shape
    shape = _copy_model(ft, tmp_path / "shape")
    sd = load_file(str(shape / "model.safetensors"))
    name = next(n for n in sd if n.endswith("q_proj.weight"))
    sd[name] = torch.zeros(sd[name].shape[0] + 1, sd[name].shape[1])
    save_file(sd, str(shape / "model.safetensors"))
    cfg.models[1].model = str(shape)
    with pytest.raises(ValueError, match=rf"{name}.*shape"):
        run_merge(cfg, tmp_path / "o2")
    # a corrupt safetensors file
    bad = _copy_model(ft, tmp_path / "bad")
    (bad / "model.safetensors").write_bytes(b"\x00\x01not a safetensors file")
    cfg.models[1].model = str(bad)
    with pytest.raises(ValueError, match=rf"{bad / 'model.safetensors'}"):
        run_merge(cfg, tmp_path / "o3")
    # another architecture
    arch = _copy_model(ft, tmp_path / "arch")
    c = json.loads((arch / "config.json").read_text())
    c["architectures"] = ["GPT2LMHeadModel"]
    (arch / "config.json").write_text(json.dumps(c))
    cfg.models[1].model = str(arch)
    with pytest.raises(ValueError, match="architecture"):
        run_merge(cfg, tmp_path / "o4")
    # an output folder that exists is never touched
    (tmp_path / "exists").mkdir()
    (tmp_path / "exists" / "keep.txt").write_text("mine")
    cfg.models[1].model = str(ft)
    with pytest.raises(FileExistsError, match="already exists"):
        run_merge(cfg, tmp_path / "exists")
    assert (tmp_path / "exists" / "keep.txt").read_text() == "mine"
    assert _hash(ft) == before
    assert not any(tmp_path.glob("o[1-4]*"))


def test_tswitch_files_round_trip_and_report_their_size(tiny_zoo, tmp_path):
    fts = {t: tiny_zoo / f"arith-ft-{t}" for t in TASKS[:2]}
    info = build_tswitch(tiny_zoo / "arith-base", fts, 0.6, tmp_path / "ts")
    for t in fts:
        d = info["tasks"][t]
        assert d["bytes"] == (tmp_path / "ts" / d["file"]).stat().st_size
        assert d["pct_of_fp32"] == pytest.approx(100 * d["bits_per_param"] / 32)
    base, ft = index_tensors(tiny_zoo / "arith-base"), index_tensors(fts["add"])
    back = read_switches(tmp_path / "ts", "add")
    for name in list(base)[:6]:
        delta = read_tensor(ft[name]).float() - read_tensor(base[name]).float()
        if delta.dim() == 0:
            assert torch.equal(back[name], delta)
            continue
        assert torch.equal(back[name], tswitch_tensor(delta, 0.6).delta())
    state = compose_state(tiny_zoo / "arith-base", tmp_path / "ts", {"add": 1.0})
    assert set(state) == set(base)


def test_autoswitch_routes_each_task_to_its_own_switch(tiny_zoo):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from backend.merging import autoswitch

    model = AutoModelForCausalLM.from_pretrained(str(tiny_zoo / "arith-base")).eval()
    tok = AutoTokenizer.from_pretrained(str(tiny_zoo / "arith-base"))
    q = {t: autoswitch.query_prompts(tiny_zoo / "data" / f"task_{t}_train.jsonl", 30) for t in TASKS}
    router = autoswitch.fit(model, tok, q, k=5)
    for t in TASKS:
        prompts = autoswitch.query_prompts(tiny_zoo / "data" / f"task_{t}_eval.jsonl", 8)
        w = router.weights(autoswitch.embed(model, tok, prompts))
        assert sum(w.values()) == pytest.approx(1.0)
        assert max(w, key=w.get) == t
        hard = router.weights(autoswitch.embed(model, tok, prompts), hard=True)
        assert hard[t] == 1.0


def test_cli_merge_tswitch_and_eval_json(tiny_zoo, tmp_path, capsys):
    from backend.cli import main

    ws = str(tmp_path / "ws")
    cfg = tmp_path / "ties.yml"
    cfg.write_text(f"merge_method: ties\nbase_model: {tiny_zoo / 'arith-base'}\nmodels:\n"
                   f"  - model: {tiny_zoo / 'arith-ft-add'}\n    parameters: {{weight: 1.0, density: 0.5}}\n"
                   f"  - model: {tiny_zoo / 'arith-ft-sub'}\n    parameters: {{weight: 1.0, density: 0.5}}\n")
    rc = main(["--workspace", ws, "merge", str(cfg), "--out", str(tmp_path / "m"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["result"]["method"] == "ties" and (tmp_path / "m" / "config.json").is_file()
    rc = main(["--workspace", ws, "tswitch", str(tiny_zoo / "arith-base"), str(tiny_zoo / "arith-ft-add"),
               "--drop", "0.6", "--out", str(tmp_path / "ts"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["result"]["tasks"]["add"]["pct_of_fp32"] > 0
    rc = main(["--workspace", ws, "merge-eval", str(tmp_path / "m"), "--tasks",
               str(tiny_zoo / "data" / "task_add_eval.jsonl"), "--limit", "4", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and 0.0 <= out["result"]["accuracy"]["task_add_eval"] <= 1.0
    # refused: an unsupported field (named), an existing output folder
    bad = tmp_path / "bad.yml"
    bad.write_text(cfg.read_text() + "slices: []\n")
    assert main(["--workspace", ws, "merge", str(bad), "--out", str(tmp_path / "m2")]) == 2
    assert "slices" in capsys.readouterr().err
    assert main(["--workspace", ws, "merge", str(cfg), "--out", str(tmp_path / "m")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_cli_merge_study_json_table_and_refusals(tiny_zoo, tmp_path, capsys):
    """merge-study is the merging panel's Run from a script: same job, same result, its options
    the panel's fields (an extra task by --eval, the evaluations in shards)."""
    from backend.cli import main

    ws = str(tmp_path / "ws")
    base, add, sub = (str(tiny_zoo / n) for n in ("arith-base", "arith-ft-add", "arith-ft-sub"))
    extra = tiny_zoo / "data" / "task_mul_eval.jsonl"
    rc = main(["--workspace", ws, "merge-study", base, add, sub, "--method", "ties", "--density", "0.5",
               "--lambda", "0.8", "--limit", "8", "--eval", f"mul={extra}", "--shards", "2",
               "--out", str(tmp_path / "merged"), "--json"])
    out = json.loads(capsys.readouterr().out)
    r = out["result"]
    assert rc == 0 and out["status"] == "succeeded" and r["shards"] == 2
    assert r["tasks"] == ["add", "sub", "mul"] and r["params"] == {"weight": 1.0, "density": 0.5, "lambda": 0.8}
    assert list(r["accuracy"]) == ["base", "ft-add", "ft-sub", "merged (ties)"]
    assert (tmp_path / "merged" / "config.json").is_file() and r["layers"]["rows"]
    rc = main(["--workspace", ws, "merge-study", base, add, "--limit", "4"])     # T-Switch, the table
    text = capsys.readouterr().out
    assert rc == 0 and "T-Switch (oracle task)" in text and text.splitlines()[1].split()[-2:] == ["add", "mean"]
    # refused before a run is recorded: a bad setting (named), a missing eval file, an existing --out
    assert main(["--workspace", ws, "merge-study", base, add, "--method", "ties", "--density", "2"]) == 2
    assert "density" in capsys.readouterr().err.lower()
    assert main(["--workspace", ws, "merge-study", base, add, "--eval", f"x={tmp_path / 'none.jsonl'}"]) == 2
    assert "none.jsonl" in capsys.readouterr().err
    assert main(["--workspace", ws, "merge-study", base, add, "--out", str(tmp_path / "merged")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_model_stock_and_slerp_folders_load_and_follow_the_tensor_math(tiny_zoo, tmp_path):
    from transformers import AutoModelForCausalLM

    from backend.merging.methods import model_stock, slerp

    base = str(tiny_zoo / "arith-base")
    ms = parse_config({"merge_method": "model_stock", "base_model": base,
                       "models": [{"model": base}, *({"model": str(tiny_zoo / f"arith-ft-{t}")} for t in TASKS[:3])]})
    run_merge(ms, tmp_path / "ms")
    sl = parse_config({"merge_method": "slerp", "base_model": base, "parameters": {"t": 0.25},
                       "models": [{"model": base}, {"model": str(tiny_zoo / "arith-ft-add")}]})
    run_merge(sl, tmp_path / "sl")
    ix = {k: index_tensors(tiny_zoo / f"arith-{k}") for k in ("base", "ft-add", "ft-sub", "ft-mul")}
    name = next(n for n in ix["base"] if n.endswith("v_proj.weight"))
    get = {k: read_tensor(v[name]) for k, v in ix.items()}
    want = model_stock(get["base"], [get["ft-add"], get["ft-sub"], get["ft-mul"]])
    assert torch.allclose(read_tensor(index_tensors(tmp_path / "ms")[name]), want, atol=1e-6)
    want = slerp(0.25, get["base"], get["ft-add"])
    assert torch.allclose(read_tensor(index_tensors(tmp_path / "sl")[name]), want, atol=1e-6)
    for out in ("ms", "sl"):
        AutoModelForCausalLM.from_pretrained(str(tmp_path / out))
    bad = parse_config({"merge_method": "slerp", "base_model": base, "parameters": {"t": 0.5},
                        "models": [{"model": str(tiny_zoo / "arith-ft-add")},
                                   {"model": str(tiny_zoo / "arith-ft-sub")}]})
    with pytest.raises(ValueError, match="exactly one other model"):
        run_merge(bad, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_row_knob_switches_round_trip_from_the_file(tiny_zoo, tmp_path):
    info = build_tswitch(tiny_zoo / "arith-base", {"add": tiny_zoo / "arith-ft-add"}, 0.6, tmp_path / "ts",
                         knob="row")
    ref = build_tswitch(tiny_zoo / "arith-base", {"add": tiny_zoo / "arith-ft-add"}, 0.6, tmp_path / "ts2")
    assert info["knob"] == "row" and info["tasks"]["add"]["bytes"] > ref["tasks"]["add"]["bytes"]
    base, ft = index_tensors(tiny_zoo / "arith-base"), index_tensors(tiny_zoo / "arith-ft-add")
    back = read_switches(tmp_path / "ts", "add")
    for name in base:
        delta = read_tensor(ft[name]).float() - read_tensor(base[name]).float()
        want = delta if delta.dim() == 0 else tswitch_tensor(delta, 0.6, knob="row").delta()
        assert torch.equal(back[name], want), name


def test_layer_stats_show_what_ties_kept(tiny_zoo):
    from backend.merging.study import layer_stats, trim_for

    fts = {t: tiny_zoo / f"arith-ft-{t}" for t in TASKS[:2]}
    full = layer_stats(tiny_zoo / "arith-base", fts)
    kept = layer_stats(tiny_zoo / "arith-base", fts, trim=trim_for("ties", 0.2))
    m = torch.tensor(kept["matrix"])
    # top 20% by magnitude (fewer where a tensor has fewer non-zero deltas, e.g. unused embeddings)
    assert (m[:, :2] <= 0.2 + 1e-6).all() and m[:, :2].median().item() == pytest.approx(0.2, abs=0.01)
    assert (m[:, 2] <= torch.tensor(full["matrix"])[:, 2] + 1e-9).all()  # fewer entries, fewer conflicts
