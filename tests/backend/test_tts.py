"""Test-time scaling: selection rules, aggregation, exact budgets, reproducibility, sweeps."""
from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def searcher_factory(tmp_path_factory):
    from backend.generation.policy import Policy
    from backend.ttrl.tiny import build_tiny_policy
    from backend.tts.scoring import ArithmeticReferenceScorer
    from backend.tts.strategies import Searcher
    from backend.tts.params import TTSParams

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: extra threads only contend on a shared CPU
    folder = build_tiny_policy(tmp_path_factory.mktemp("tts") / "tiny", seed=1)

    def make(**kw):
        base = dict(n=4, beam_width=2, max_steps=3, temperature=1.2, max_tokens=20, step_tokens=8, seed=7)
        return Searcher(Policy.load(folder, "cpu", "float32"), ArithmeticReferenceScorer(), TTSParams(**{**base, **kw}))

    yield make
    torch.set_num_threads(threads)


def problems():
    from backend.tts.data import Problem

    return [Problem(0, "((12+7)*3)-5", "52", 3), Problem(1, "(4+5)*2", "18", 1), Problem(2, "9-4", "5", 1)]


# -- selection and aggregation ----------------------------------------------------------------
def cand(answer, score=None):
    from backend.tts.types import Candidate

    return Candidate(text=f"Answer: {answer}", steps=[], answer=answer, score=score)


def test_aggregations_match_the_research_note():
    from backend.tts.scoring import aggregate

    s = [0.9, 0.2, 0.8]
    assert aggregate(s, "min") == 0.2 and aggregate(s, "last") == 0.8
    assert aggregate(s, "prod") == pytest.approx(0.144) and aggregate(s, "avg") == pytest.approx(0.6333, abs=1e-4)
    assert aggregate([], "last") == 0.0
    with pytest.raises(ValueError, match="unknown aggregation"):
        aggregate(s, "max")


def test_majority_vote_ties_go_to_first_seen_and_missing_never_wins():
    from backend.tts.strategies import select

    assert select("majority", [cand("3"), cand("5"), cand("5"), cand("3")]) == 0      # tie 2-2: first seen
    assert select("majority", [cand(None), cand(None), cand(None), cand("7")]) == 3   # None never wins
    assert select("majority", [cand(None), cand(None)]) is None
    assert select("majority", []) is None


def test_best_of_n_and_weighted_vote():
    from backend.tts.strategies import select

    c = [cand("3", 0.9), cand("5", 0.5), cand("5", 0.6), cand(None, 0.99)]
    assert select("bon", c) == 0                      # highest score among answered candidates
    assert select("weighted_bon", c) == 2             # 5 has 1.1 > 0.9; its best member wins
    assert select("majority", c) == 1
    assert select("bon", [cand("1", 0.5), cand("2", 0.5)]) == 0   # ties: first


def test_reference_scorer_checks_the_arithmetic():
    from backend.tts.scoring import ArithmeticReferenceScorer, parse_chain

    assert parse_chain("((12+7)*3)-5") == (12, [("+", 7), ("*", 3), ("-", 5)])
    s = ArithmeticReferenceScorer(1.0, 0.0)
    good = ["Step 1: 12+7=19", "Step 2: 19*3=57", "Step 3: 57-5=52", "Answer: 52"]
    bad = ["Step 1: 12+7=19", "Step 2: 19*3=56", "Step 3: 56-5=51", "Answer: 51"]
    assert s([("((12+7)*3)-5", good), ("((12+7)*3)-5", bad)]) == [[1, 1, 1, 1], [1, 0, 0, 0]]
    assert s([("((12+7)*3)-5", ["Step 1: 12+7=19", "Answer: 19"])]) == [[1, 0]]   # answers too early
    with pytest.raises(ValueError, match="not an arithmetic chain"):
        s([("what is love?", ["x"])])


# -- budgets and reproducibility --------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["majority", "weighted_bon", "beam", "dvts"])
def test_budget_accounting_is_exact(searcher_factory, strategy):
    s = searcher_factory()
    before = s.policy.stats.generated_tokens
    results = s.run(strategy, problems())
    assert sum(r.budget.tokens for r in results) == s.policy.stats.generated_tokens - before
    for r in results:
        if strategy in ("majority", "weighted_bon"):
            assert r.budget.samples == 4 and r.budget.tokens == sum(c.tokens for c in r.candidates)
            assert r.budget.prm_calls == (4 if strategy == "weighted_bon" else 0)
            assert r.budget.prm_steps == (sum(len(c.steps) for c in r.candidates) if r.budget.prm_calls else 0)
        else:
            assert r.budget.samples == len(r.tree)
            assert r.budget.tokens == sum(node["tokens"] for node in r.tree)
            scored = [node for node in r.tree if node["status"] != "truncated"]
            assert r.budget.prm_calls == len(scored)
            assert all(node["agg"] is not None for node in scored)
            assert len([nd for nd in r.tree if nd["depth"] == 0]) == 4      # N first steps
            if strategy == "beam":
                kept = [nd for nd in r.tree if nd["status"] == "kept"]
                assert all(len([k for k in kept if k["depth"] == d]) <= 2 for d in range(3))  # N/M beams


def test_seeded_runs_reproduce_and_do_not_depend_on_the_batch(searcher_factory):
    a = [r.to_dict() for r in searcher_factory().run("beam", problems())]
    b = [r.to_dict() for r in searcher_factory().run("beam", problems())]
    assert json.dumps(a) == json.dumps(b)
    alone = searcher_factory().run("beam", problems()[1:2])[0].to_dict()
    assert json.dumps(alone) == json.dumps(a[1])
    other = [r.to_dict() for r in searcher_factory(seed=8).run("beam", problems())]
    assert json.dumps(other) != json.dumps(a)


def test_sampled_budgets_are_prefixes_of_one_sample_set(searcher_factory):
    s = searcher_factory()
    got = s.run_sampled(problems(), ["majority", "bon"], [1, 2, 4])
    for i in range(3):
        four = got["bon"][4][i]
        for n in (1, 2):
            r = got["bon"][n][i]
            assert [c.text for c in r.candidates] == [c.text for c in four.candidates[:n]]
            assert r.budget.tokens == sum(c.tokens for c in four.candidates[:n]) and r.budget.prm_calls == n
    single = searcher_factory(n=2).run("bon", problems())
    assert [c.text for c in single[0].candidates] == [c.text for c in got["bon"][4][0].candidates[:2]]


def test_strategies_needing_a_prm_say_so(searcher_factory):
    s = searcher_factory()
    s.scorer = None
    with pytest.raises(ValueError, match="needs a PRM"):
        s.run("beam", problems())


# -- sweep and compute-optimal table -----------------------------------------------------------
def test_difficulty_bins_and_compute_optimal_table():
    from backend.tts.sweep import compute_optimal, difficulty_bins, recommend

    names, which = difficulty_bins([0.0, 0.05, 0.1, 0.3, 0.5, 1.0])
    assert names == ["hard [0%, 10%)", "medium [10%, 50%)", "easy [50%, 100%]"]
    assert which == [names[0], names[0], names[1], names[1], names[2], names[2]]

    def e(acc, tok, hard, easy):
        return {"accuracy": acc, "tokens": tok, "prm_calls": 0.0, "count": 2,
                "per_bin": {"hard": {"accuracy": hard, "tokens": tok, "prm_calls": 0.0, "count": 1},
                            "easy": {"accuracy": easy, "tokens": tok, "prm_calls": 0.0, "count": 1}}}
    runs = {"majority": {"4": e(0.5, 40, 0.0, 1.0)}, "beam": {"4": e(0.5, 60, 1.0, 0.0)},
            "bon": {"4": e(0.5, 40, 0.0, 1.0)}}
    table = {(r["bin"], r["n"]): r["strategy"] for r in compute_optimal(runs, ["hard", "easy"], [4])}
    assert table == {("all", 4): "majority", ("hard", 4): "beam", ("easy", 4): "majority"}
    summary = {"runs": runs}
    assert recommend(summary, 50)["strategy"] == "majority"
    assert recommend(summary, 100, "hard")["strategy"] == "beam"
    assert recommend(summary, 10) is None


def test_sweep_runs_every_strategy_and_budget(searcher_factory):
    from backend.tts.sweep import run_sweep

    seen = []
    summary, results = run_sweep(searcher_factory(), problems(), ["greedy", "majority", "weighted_bon", "beam"],
                                 [1, 2, 4], progress=lambda f, m: seen.append(f))
    assert set(summary["runs"]) == {"greedy", "majority", "weighted_bon", "beam"}
    assert set(summary["runs"]["beam"]) == {"1", "2", "4"} and set(summary["runs"]["greedy"]) == {"1"}
    assert len(results) == 3 * (1 + 3 + 3 + 3)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert sum(summary["bin_counts"].values()) == 3
    json.dumps(summary)


# -- data ---------------------------------------------------------------------------------------
def test_problem_file_errors_name_file_and_line(tmp_path):
    from backend.tts.data import load_problems

    f = tmp_path / "p.jsonl"
    f.write_text('{"problem": "1+2", "answer": 3}\n\n{"answer": 4}\n')
    with pytest.raises(ValueError, match=r"p\.jsonl line 3: field 'problem'"):
        load_problems(f)
    f.write_text('{"problem": "1+2", "answer": 3}\n{oops\n')
    with pytest.raises(ValueError, match=r"p\.jsonl line 2: not valid JSON"):
        load_problems(f)
    f.write_text('{"problem": "1+2", "answer": 3, "level": 2}\n')
    assert load_problems(f)[0].answer == "3" and load_problems(f)[0].level == 2
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_problems(tmp_path / "missing.jsonl")


def test_a_real_prm_folder_scores_search_steps(searcher_factory, tmp_path):
    """A tiny random token-classification PRM loaded through backend.prm drives beam search."""
    from transformers import LlamaConfig, LlamaForTokenClassification

    from backend.ttrl.tiny import char_tokenizer
    from backend.tts.scoring import load_scorer

    tok = char_tokenizer()
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256, num_labels=2,
                      pad_token_id=tok.pad_token_id)
    folder = tmp_path / "prm"
    LlamaForTokenClassification(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    (folder / "benchtop_prm.json").write_text(json.dumps({
        "style": "token-classification", "prefix_template": "Problem: {problem}\n", "step_separator": "\n",
        "positive_label": 1}))
    scorer = load_scorer(str(folder), "cpu")
    lines = ["Step 1: 4+5=9", "Step 2: 9*2=18", "Answer: 18"]
    got = scorer([("(4+5)*2", lines), ("(4+5)*2", lines[:2]), ("9-4", [])])
    assert len(got[0]) == 3 and got[0][2] == got[0][1] and got[0][:2] == pytest.approx(got[1])   # answer inherits
    assert got[2] == [] and all(0.0 <= x <= 1.0 for x in got[0])
    s = searcher_factory()
    s.scorer = scorer
    for r in s.run("beam", problems()):
        assert r.budget.prm_calls == len([nd for nd in r.tree if nd["status"] != "truncated"])
