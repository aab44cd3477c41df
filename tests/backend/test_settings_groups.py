"""TTS, TTRL and PRM settings as Params classes: one split of a job's flat params into its groups,
the CLI's options turned into the params a job reads, and run records from before the classes."""
from __future__ import annotations

import argparse

import pytest

from backend.cli.parser import build_parser


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_split_params_gives_each_group_its_keys_and_the_first_the_unknown_ones():
    from backend.generation.prompting import PromptParams
    from backend.params import split_params
    from backend.tts.params import TTSRunParams

    run, prompt = split_params({"n": 8, "system_prompt": "S", "limit": None}, TTSRunParams, PromptParams)
    assert (run.n, run.limit, prompt.system_prompt) == (8, 0, "S")     # None means the default
    with pytest.raises(ValueError, match=r"unknown TTS run setting\(s\): beamwidth"):
        split_params({"beamwidth": 2, "system_prompt": "S"}, TTSRunParams, PromptParams)


def test_tts_run_options_become_the_params_the_job_reads(tmp_path):
    from backend.tts.cli import _params
    from backend.tts.params import parse_params

    args = _args("tts", "run", "--policy", "p", "--data", "d", "--out", "o", "--strategy", "bon", "--n", "16",
                 "--no-prefix-sharing", "--dtype", "float32", "--prm-preset", "genprm", "--system-prompt", "S")
    params, settings = _params(args)
    assert params == {"strategy": "bon", "n": 16, "share_prefix": False, "dtype": "float32",
                      "prm_preset": "genprm", "system_prompt": "S"}
    run, prompt = parse_params(type(settings), params)
    assert (run.strategy, run.n, run.share_prefix, run.preset(), prompt.system_prompt) == \
        ("bon", 16, False, "genprm", "S")
    # nothing typed: nothing recorded, and the job's defaults are the class's (beam at N = 4)
    params, settings = _params(_args("tts", "run", "--policy", "p", "--data", "d", "--out", "o"))
    assert params == {} and (settings.strategy, settings.n, settings.max_tokens) == ("beam", 4, 0)


def test_tts_sweep_options_and_an_old_record():
    from backend.tts.cli import _params
    from backend.tts.params import TTSSweepParams, parse_params

    args = _args("tts", "sweep", "--policy", "p", "--data", "d", "--out", "o", "--ns", "1,2,4",
                 "--strategies", "greedy,beam", "--thresholds", "0.2,0.6", "--json")
    params, _ = _params(args)
    assert params == {"strategies": ["greedy", "beam"], "ns": [1, 2, 4], "thresholds": [0.2, 0.6]}
    with pytest.raises(SystemExit):      # a sweep's budgets are --ns; it has no --n
        _args("tts", "sweep", "--policy", "p", "--data", "d", "--out", "o", "--n", "4")
    # what the panel and the CLI recorded before the settings were a Params class
    old = {"strategies": ["bon", "beam"], "ns": [1, 4], "beam_width": 2, "max_steps": 5, "temperature": 0.6,
           "agg": "min", "seed": 3, "limit": 7, "dtype": "auto", "system_prompt": "", "chat_template": True}
    sweep, prompt = parse_params(TTSSweepParams, old)
    assert (sweep.strategies, sweep.ns, sweep.limit, sweep.thresholds) == (("bon", "beam"), (1, 4), 7, (0.1, 0.5))
    assert "strategies" not in sweep.search_dict() and sweep.search_dict()["beam_width"] == 2


def test_ttrl_options_and_the_steps_it_does_not_take():
    from backend.ttrl.cli import _params
    from backend.ttrl.config import parse_params

    args = _args("ttrl", "train", "--policy", "p", "--prompts", "q", "--out", "o", "--n-votes", "8",
                 "--n-train", "4", "--betas", "0.9,0.95", "--lr-schedule", "cosine", "--no-chat-template")
    params = _params(args)
    assert params == {"n_votes": 8, "n_train": 4, "betas": [0.9, 0.95], "lr_schedule": "cosine",
                      "chat_template": False}
    cfg, prompt = parse_params(params)
    assert cfg.betas == (0.9, 0.95) and prompt.chat_template is False
    with pytest.raises(ValueError, match="whole answers"):
        parse_params({"delimiter": "\n"})
    with pytest.raises(ValueError, match="Adam betas"):
        parse_params({"betas": [0.9]})


def test_prm_settings_split_from_the_inputs_in_params():
    from backend.prm.cli import _params
    from backend.prm.params import PRMScoreParams, ProcessBenchParams, parse_params

    args = _args("prm", "processbench", "--prm", "zoo:arith-prm", "--data", "pb.jsonl", "--limit", "40",
                 "--preset", "genprm", "--samples", "4")
    params = _params(args)
    assert params == {"limit": 40, "preset": "genprm", "samples": 4, "prm": "zoo:arith-prm"}
    bench, rest = parse_params(ProcessBenchParams, params)
    assert (bench.limit, bench.preset_name(), bench.threshold, rest) == (40, "genprm", 0.5, {"prm": "zoo:arith-prm"})
    # a prm.score record of the old CLI (pattern None, every key always written)
    old = {"prm": "a", "threshold": 0.5, "dtype": "auto", "out": "/x.jsonl", "split": "auto", "pattern": None}
    score, rest = parse_params(PRMScoreParams, old)
    assert (score.split, score.pattern, score.preset_name()) == ("auto", "", None) and rest["out"] == "/x.jsonl"
    with pytest.raises(ValueError, match="needs a pattern"):
        parse_params(PRMScoreParams, {"split": "regex"})


def test_prm_settings_reach_the_loaded_verifier(tmp_path):
    pytest.importorskip("torch")
    from backend.prm.jobs import _load
    from backend.prm.params import PRMParams
    from tests.backend._prm_models import make_prm

    gen = make_prm(tmp_path / "g", "generative")
    prm = _load(str(gen), "cpu", PRMParams(samples=3, max_new_tokens=40, seed=7, batch_size=5))
    assert (prm.desc["samples"], prm.desc["max_new_tokens"], prm.seed, prm.gen_batch) == (3, 40, 7, 5)
    from backend.prm.descriptor import read_descriptor

    own = read_descriptor(gen)
    default = _load(str(gen), "cpu", PRMParams())      # 0: the descriptor's own
    assert (default.desc["samples"], default.desc["max_new_tokens"]) == (own["samples"], own["max_new_tokens"])
    assert (own["samples"], own["max_new_tokens"]) != (3, 40)
    disc = _load(str(make_prm(tmp_path / "d", "token-classification")), "cpu", PRMParams(batch_size=3))
    assert disc.max_batch == 3
