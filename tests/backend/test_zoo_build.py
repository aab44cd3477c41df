"""The tiny zoo builds completely, loads with Auto classes, and a broken zoo is never loaded."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from backend.models.zoo import build_zoo, resolve_model, verify_zoo, zoo_data_path, zoo_root, zoo_status

MODELS = ["arith-base", "arith-ft-add", "arith-ft-sub", "arith-ft-mul", "arith-ft-upper", "arith-policy", "arith-prm",
          "arith-genprm"]


def test_tiny_zoo_is_complete(tiny_zoo):
    man = json.loads((tiny_zoo / "manifest.json").read_text())
    assert zoo_status(tiny_zoo) == "ready" and verify_zoo(tiny_zoo) is None
    assert sorted(man["models"]) == sorted(MODELS)
    for m in MODELS:
        for f in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                  "special_tokens_map.json", "generation_config.json"):
            assert (tiny_zoo / m / f).is_file(), (m, f)
    prm_cfg = json.loads((tiny_zoo / "arith-prm" / "benchtop_prm.json").read_text())
    assert prm_cfg["style"] == "token-classification" and prm_cfg["positive_label"] == 1
    assert "{problem}" in prm_cfg["prefix_template"] and prm_cfg["step_separator"]
    for name in ("problems_eval", "processbench", "ttrl_unlabeled", "ttrl_labeled", "task_add_eval"):
        rows = [json.loads(line) for line in zoo_data_path(name, root=tiny_zoo).read_text().splitlines()]
        assert rows, name
    pb = [json.loads(line) for line in (tiny_zoo / "data" / "processbench.jsonl").read_text().splitlines()]
    for r in pb:
        assert set(r) == {"id", "generator", "problem", "steps", "final_answer_correct", "label"}
        assert -1 <= r["label"] < len(r["steps"])
    assert all(set(json.loads(line)) == {"problem"}
               for line in (tiny_zoo / "data" / "ttrl_unlabeled.jsonl").read_text().splitlines())
    fig = man["figures"]
    assert set(fig["tasks"]["accuracy"]) == {"arith-base", *[m for m in MODELS if "-ft-" in m]}
    assert 0 <= fig["policy"]["greedy"] <= 1 and 0 <= fig["prm"]["roc_auc"] <= 1
    assert man["build_seconds"] > 0 and all(len(v["sha256"]) == 64 for v in man["files"].values())


def test_models_load_with_auto_classes(tiny_zoo):
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForTokenClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_zoo / "arith-base")
    ids = tok("Problem: (3+4)*2\n", return_tensors="pt")
    base = AutoModelForCausalLM.from_pretrained(tiny_zoo / "arith-base")
    for m in ("arith-ft-add", "arith-policy", "arith-genprm"):
        model = AutoModelForCausalLM.from_pretrained(tiny_zoo / m)
        assert model.config.to_dict()["hidden_size"] == base.config.hidden_size
        assert model(**ids).logits.shape[-1] == len(tok)
    ft = AutoModelForCausalLM.from_pretrained(tiny_zoo / "arith-ft-add").state_dict()
    assert ft.keys() == base.state_dict().keys()
    assert any(not torch.equal(ft[k], v) for k, v in base.state_dict().items())  # a real fine-tune
    prm = AutoModelForTokenClassification.from_pretrained(tiny_zoo / "arith-prm")
    assert prm.config.num_labels == 2 and prm(**ids).logits.shape[-1] == 2


def test_resolve_model(tiny_zoo, tmp_path):
    assert resolve_model("zoo:arith-policy", root=tiny_zoo) == tiny_zoo / "arith-policy"
    assert resolve_model(str(tiny_zoo / "arith-base")) == tiny_zoo / "arith-base"
    with pytest.raises(FileNotFoundError, match="zoo build"):
        resolve_model("zoo:arith-base", workspace_root=tmp_path)
    with pytest.raises(FileNotFoundError, match="no model zoo:nope"):
        resolve_model("zoo:nope", root=tiny_zoo)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        resolve_model(tmp_path / "empty")
    assert zoo_root(tmp_path, "tiny") == tmp_path / "zoo" / "tiny"


def test_half_written_zoo_is_detected_and_rebuilt(tiny_zoo, tmp_path):
    root = tmp_path / "zoo" / "tiny"
    assert zoo_status(root) == "missing"
    (root.parent / ".tiny.x1.partial").mkdir(parents=True)  # a build killed before the rename
    assert zoo_status(root) == "partial"
    shutil.rmtree(root.parent / ".tiny.x1.partial")
    shutil.copytree(tiny_zoo, root)
    assert zoo_status(root) == "ready"
    (root / "manifest.json").unlink()  # interrupted before the manifest was written
    assert zoo_status(root) == "partial"
    with pytest.raises(FileNotFoundError, match="not built yet"):
        resolve_model("zoo:arith-base", workspace_root=tmp_path, profile="tiny")
    # a build killed a moment ago left a .partial: its builder is gone, so the next build sweeps
    # it at once; one whose builder still runs (here: this process) is left alone
    import socket
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    dead, live = root.parent / ".tiny.dead1.partial", root.parent / ".tiny.live1.partial"
    for p, pid in ((dead, gone.pid), (live, os.getpid())):
        p.mkdir()
        (p / ".benchtop-builder").write_text(f"{pid} {socket.gethostname()}")
    man = build_zoo(root, "tiny")  # rebuilt, deterministic for the seed
    assert zoo_status(root) == "ready"
    assert not dead.exists() and live.exists()
    assert not (root / ".benchtop-builder").exists()
    shutil.rmtree(live)
    ref = json.loads((tiny_zoo / "manifest.json").read_text())
    assert man["files"]["data/problems_eval.jsonl"] == ref["files"]["data/problems_eval.jsonl"]
    assert man["figures"]["tasks"] == ref["figures"]["tasks"]
    # a damaged file is a hash mismatch: not ready, rebuilt on the next build
    st = root / "arith-base" / "model.safetensors"
    data = bytearray(st.read_bytes())
    data[-1] ^= 0xFF
    st.write_bytes(bytes(data))
    assert "hash" in verify_zoo(root)
    assert build_zoo(root, "tiny")["files"] == man["files"]
    assert verify_zoo(root) is None
