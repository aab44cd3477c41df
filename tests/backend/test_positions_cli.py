"""``python main.py fope ...``: train -> eval end to end at tiny size, convert, and bad input."""
from __future__ import annotations

import json

import pytest

from backend.cli.parser import main


@pytest.fixture(autouse=True)
def _only_our_commands(monkeypatch):
    from backend.cli import parser

    monkeypatch.setattr(parser, "_command_modules", lambda: ["backend.cli.runs", "backend.positions.cli"])


def _run(tmp_path, capsys, *argv):
    rc = main(["--workspace", str(tmp_path / "ws"), *argv])
    return rc, capsys.readouterr()


@pytest.fixture
def text(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text("The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs.\n" * 40)
    return path


TINY = ("--steps", "3", "--batch", "4", "--d-model", "16", "--heads", "2", "--layers", "1")


def test_train_then_eval_json(tmp_path, capsys, text):
    before = text.read_bytes()
    rc, out = _run(tmp_path, capsys, "fope", "train", "--text", str(text), "--pos", "fope", "--train-len", "32",
                   *TINY, "--seed", "1", "--out", str(tmp_path / "m"), "--json")
    assert rc == 0, out.err
    res = json.loads(out.out)["result"]
    assert res["pos"] == "fope" and res["steps"] == 3 and res["val_ppl_at_train_len"] > 1
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())["benchtop_positions"]
    assert cfg["kind"] == "fope" and cfg["train_len"] == 32 and cfg["seed"] == 1
    rc, out = _run(tmp_path, capsys, "fope", "eval", str(tmp_path / "m"), "--text", str(text),
                   "--lengths", "32,64", "--trials", "4", "--json")
    assert rc == 0, out.err
    res = json.loads(out.out)["result"]
    assert set(res["perplexity"]) == {"32", "64"} and set(res["recall"]) == {"32", "64"}
    assert res["held_out"] is True and all(v > 1 for v in res["perplexity"].values())
    assert 0 <= res["recall"]["64"] <= 1
    assert text.read_bytes() == before


def test_convert_cli(tmp_path, capsys):
    from transformers import LlamaConfig, LlamaForCausalLM

    LlamaForCausalLM(LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                 num_attention_heads=2, max_position_embeddings=128)).save_pretrained(tmp_path / "src")
    rc, out = _run(tmp_path, capsys, "fope", "convert", str(tmp_path / "src"), "--out", str(tmp_path / "fo"))
    assert rc == 0, out.err
    assert "plain transformers loads this folder as ordinary RoPE" in out.out
    assert json.loads((tmp_path / "fo" / "config.json").read_text())["benchtop_positions"]["kind"] == "fope"


def _one_error_line(rc, out, *needles):
    assert rc == 2 and out.out == ""
    lines = [ln for ln in out.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out.err
    for n in needles:
        assert n in lines[0], lines[0]


def test_bad_input_gets_one_clear_line(tmp_path, capsys, text):
    rc, out = _run(tmp_path, capsys, "fope", "train", "--text", str(text), "--train-len", "0",
                   "--out", str(tmp_path / "a"))
    _one_error_line(rc, out, "train_len", ">= 8")
    short = tmp_path / "short.txt"
    short.write_text("only a few words here, far too short for a window\n")
    rc, out = _run(tmp_path, capsys, "fope", "train", "--text", str(short), "--train-len", "64", *TINY,
                   "--out", str(tmp_path / "b"))
    assert rc == 1 and "shorter than the window of 64" in out.err and str(short) in out.err
    binary = tmp_path / "weights.bin"
    binary.write_bytes(bytes(range(256)) * 10)
    rc, out = _run(tmp_path, capsys, "fope", "train", "--text", str(binary), "--out", str(tmp_path / "c"))
    _one_error_line(rc, out, str(binary), "not a text file")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    rc, out = _run(tmp_path, capsys, "fope", "train", "--text", str(empty), "--out", str(tmp_path / "d"))
    _one_error_line(rc, out, "empty")
    rc, out = _run(tmp_path, capsys, "fope", "eval", str(tmp_path), "--text", str(text), "--lengths", "0,64")
    _one_error_line(rc, out, "lengths")
    rc, out = _run(tmp_path, capsys, "fope", "eval", str(tmp_path / "nowhere"), "--text", str(text))
    _one_error_line(rc, out, "no config.json")
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()
