"""Engine settings, the vllm refusal and the openai engine's reading of a server's choices."""
from __future__ import annotations

import os

import pytest

from backend.generation.engines import EngineParams, engine_spec_params, load_engine
from backend.generation.engines.openai_engine import read_choice, stop_strings
from backend.generation.engines.params import KEY_ENV, REDACTED
from backend.generation.engines.vllm_engine import EngineUnavailable, vllm_missing
from backend.generation.policy import SamplingParams


def test_vllm_is_refused_with_what_is_missing():
    why = vllm_missing("cpu")
    assert why.startswith("the vllm engine needs vLLM and a CUDA GPU")
    assert "device 'cpu' is not a CUDA GPU" in why
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        assert "vllm package is not installed" in why
    with pytest.raises(EngineUnavailable, match="needs vLLM and a CUDA GPU"):
        load_engine({"engine": "vllm"}, "unused-folder", "cpu")
    with pytest.raises(ValueError, match="needs vLLM"):       # the CLI refuses before recording a run
        engine_spec_params({"engine": "vllm"}, "cpu")


def test_params_check_and_key_never_in_spec(monkeypatch):
    with pytest.raises(ValueError, match="base_url"):
        EngineParams.from_params({"engine": "openai"})
    with pytest.raises(ValueError, match="http"):
        EngineParams.from_params({"engine": "openai", "base_url": "localhost:8000"})
    monkeypatch.delenv(KEY_ENV, raising=False)
    spec = engine_spec_params({"engine": "openai", "base_url": "http://h/v1", "api_key": "sk-1"})
    assert spec["api_key"] == REDACTED and os.environ[KEY_ENV] == "sk-1"
    assert EngineParams.from_params(spec).key() == "sk-1"
    assert EngineParams(api_key="sk-2").public_dict()["api_key"] == REDACTED


def test_read_choice_restores_the_stop_and_maps_finish():
    step = SamplingParams(stop_at_delimiter=True, delimiter="\n", stop=("Answer",))
    stops = stop_strings(step)
    assert stops == ["\n", "Answer"]
    usage = {"completion_tokens": 7}
    c = read_choice({"text": "3+4=7", "finish_reason": "stop", "stop_reason": "\n"}, usage, step, stops)
    assert (c.text, c.tokens, c.finish) == ("3+4=7\n", 7, "step")
    c = read_choice({"text": "x", "finish_reason": "stop", "matched_stop": "Answer"}, usage, step, stops)
    assert (c.text, c.finish) == ("xAnswer", "stop")
    c = read_choice({"text": "done", "finish_reason": "stop", "stop_reason": None}, usage, step, stops)
    assert (c.text, c.finish) == ("done", "eos")
    c = read_choice({"text": "kept\n", "finish_reason": "stop"}, usage, step, stops)   # a server that keeps it
    assert (c.text, c.finish) == ("kept\n", "step")
    assert read_choice({"text": "long", "finish_reason": "length"}, usage, step, stops).finish == "length"
    whole = SamplingParams(stop=())
    assert stop_strings(whole) == []


def test_ttrl_refuses_a_served_engine_with_the_reason(tmp_path, capsys):
    from backend.cli.parser import main

    rc = main(["--workspace", str(tmp_path / "ws"), "ttrl", "train", "--policy", "zoo:arith-policy", "--prompts",
               "p.jsonl", "--out", str(tmp_path / "o"), "--engine", "openai"])
    err = capsys.readouterr().err
    assert rc == 2 and "cannot train" in err and "stale copy" in err
    assert not (tmp_path / "ws" / "runs").exists() or not any((tmp_path / "ws" / "runs").iterdir())
