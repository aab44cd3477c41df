"""Discriminative one-pass scoring, batching, aggregation, step splitting, GenPRM-shape scoring."""
from __future__ import annotations

import math

import pytest

from backend.prm import aggregate, first_error, load_prm, split_steps
from tests.backend._prm_models import make_prm

ITEMS = [
    ("12+7", ["12+7=19"]),
    ("(3+4)*5-2", ["3+4=7", "7*5=35", "35-2=33"]),
    ("((2*9)+1)*3", ["Step 1: 2*9=18", "Step 2: 18+1=19", "Step 3: 19*3=57", "Answer: 57"]),
    ("8-3", ["8-3=4", "4+0=4"]),
]


@pytest.fixture(scope="module")
def prms(tmp_path_factory):
    root = tmp_path_factory.mktemp("prms")
    return {s: load_prm(make_prm(root / s, s), "cpu") for s in ("token-classification", "causal-lm-tokens")}


@pytest.mark.parametrize("style", ["token-classification", "causal-lm-tokens"])
def test_one_pass_equals_per_prefix(prms, style):
    prm = prms[style]
    for problem, steps in ITEMS:
        one = prm.score(problem, steps)
        ref = prm.score_prefixes(problem, steps)
        assert len(one) == len(steps)
        assert all(0.0 < s < 1.0 for s in one)
        assert max(abs(a - b) for a, b in zip(one, ref)) < 1e-5


@pytest.mark.parametrize("style", ["token-classification", "causal-lm-tokens"])
def test_padding_and_batch_composition_do_not_change_scores(prms, style):
    prm = prms[style]
    alone = [prm.score(p, s) for p, s in ITEMS]
    together = prm.score_batch(ITEMS)
    reordered = prm.score_batch(list(reversed(ITEMS)))[::-1]
    prm.max_batch = 2
    small = prm.score_batch(ITEMS + ITEMS[:1])
    prm.max_batch = 64
    for a, b, c, d in zip(alone, together, reordered, small):
        assert max(abs(x - y) for x, y in zip(a, b)) < 1e-5
        assert max(abs(x - y) for x, y in zip(a, c)) < 1e-5
        assert max(abs(x - y) for x, y in zip(a, d)) < 1e-5
    assert spread(together) > 0.01  # a random model that scores everything alike would prove nothing


def spread(scores):
    flat = [x for row in scores for x in row]
    return max(flat) - min(flat)


def test_marker_inside_step_gives_no_extra_score(prms):
    prm = prms["causal-lm-tokens"]
    assert len(prm.score("1+1", ["1+1=2 ки and ки more", "2+0=2"])) == 2
    tc = prms["token-classification"]
    assert len(tc.score("1+1", ["1+1=2\n\nstill step one", "2+0=2"])) == 2


def test_aggregations_on_known_inputs():
    s = [0.9, 0.2, 0.8]
    assert aggregate(s, "min") == 0.2 and aggregate(s, "last") == 0.8
    assert aggregate(s, "prod") == pytest.approx(0.144) and aggregate(s, "mean") == pytest.approx(0.63333, abs=1e-5)
    assert aggregate(s, "avg") == aggregate(s, "mean")
    with pytest.raises(ValueError):
        aggregate([], "min")
    with pytest.raises(ValueError):
        aggregate(s, "median")


def test_first_error_threshold_rule():
    assert first_error([0.9, 0.6, 0.4, 0.7], 0.5) == 2
    assert first_error([0.9, 0.8], 0.5) == -1
    assert first_error([0.3, 0.9], 0.5) == 0
    assert first_error([0.5, 0.9], 0.5) == -1   # equal to the threshold counts as correct


def test_split_steps_modes():
    text = "Let me think.\nStep 1: 3+4=7\nStep 2: 7*5=35\nAnswer: 35"
    assert split_steps(text) == ["3+4=7", "7*5=35"]
    assert split_steps("a\n\nb\nc\n\n\nd") == ["a", "b\nc", "d"]
    assert split_steps("a\nb\n\nc", "line") == ["a", "b", "c"]
    assert split_steps("x; y;z", "regex", r";\s*") == ["x", "y", "z"]
    with pytest.raises(ValueError):
        split_steps("x", "regex", "(")


def test_bad_descriptor_is_named(tmp_path):
    folder = make_prm(tmp_path / "bad", "token-classification",
                      descriptor={"style": "token-classification", "prefix_template": "no placeholder",
                                  "step_separator": "\n"})
    with pytest.raises(ValueError, match="benchtop_prm.json.*prefix_template"):
        load_prm(folder, "cpu")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_prm(tmp_path / "missing", "cpu")


def test_generative_scoring_keeps_rationale_code_output(tmp_path):
    from backend.prm.generative import parse_critique, verdict_score

    assert verdict_score(0.8, 0.1) == pytest.approx(0.8889, abs=1e-4)
    assert verdict_score(0.0, 0.0) == 0.5
    assert parse_critique("<analyze>ok</analyze>\n<verify>\nprint(1)\n</verify>") == ("ok", "print(1)")
    prm = load_prm(make_prm(tmp_path / "gen", "generative"), "cpu")
    judged = prm.judge_batch([("2+3", ["2+3=5", "5*2=10"])], samples=2)[0]
    assert [j.step for j in judged] == [0, 1]
    for j in judged:
        assert len(j.samples) == 2
        assert j.score == pytest.approx(sum(s.score for s in j.samples) / 2)
        assert all(0.0 <= s.score <= 1.0 and not math.isnan(s.score) for s in j.samples)
        assert all(s.sandbox_status for s in j.samples)
    again = prm.judge_batch([("2+3", ["2+3=5", "5*2=10"])], samples=2)[0]
    assert [j.score for j in again] == [j.score for j in judged]  # seeded


def test_generative_runs_verification_code_in_sandbox(tmp_path, monkeypatch):
    prm = load_prm(make_prm(tmp_path / "gen2", "generative"), "cpu")
    crit = "<analyze>Step claims 2+3=5.</analyze>\n<verify>\nprint(2+3==5)\n</verify>"
    monkeypatch.setattr(prm, "_generate", lambda prompts, seed: [crit] * len(prompts))
    (step,) = prm.judge_batch([("2+3", ["2+3=5"])], samples=1)[0]
    s = step.samples[0]
    assert (s.rationale, s.code, s.output, s.sandbox_status) == ("Step claims 2+3=5.", "print(2+3==5)", "True", "ok")
    assert s.score == pytest.approx(s.p_yes / (s.p_yes + s.p_no))


def test_generative_judges_from_a_start_step(tmp_path):
    prm = load_prm(make_prm(tmp_path / "gen3", "generative"), "cpu")
    crit = "<analyze>ok</analyze>\n<verify>\nprint(True)\n</verify>"
    seen = []
    prm._generate = lambda prompts, seed: (seen.extend(prompts), [crit] * len(prompts))[1]
    (tail,) = prm.judge_batch([("2+3", ["2+3=5", "5*2=10", "10-1=9"])], samples=1, start=[2])
    assert [j.step for j in tail] == [2] and len(seen) == 1 and seen[0].endswith("Check step 3: 10-1=9\n")
    assert prm.score_batch([("2+3", ["2+3=5"])], start=[1]) == [[]]
