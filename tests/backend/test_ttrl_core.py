"""TTRL's pure parts: advantages, the label rule, rewards, settings and prompt files."""
from __future__ import annotations

import json

import pytest
import torch

from backend.ttrl import voting
from backend.ttrl.config import TTRLConfig
from backend.ttrl.data import load_labelled, load_prompts, step_indices


# -- advantages -------------------------------------------------------------------------------
def test_advantages_hand_made_groups():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    adv = voting.grpo_advantages(rewards, eps=1e-6)
    # group 1: mean 0.25, unbiased std sqrt(0.25) = 0.5 -> (1-0.25)/0.5 = 1.5, (0-0.25)/0.5 = -0.5
    assert torch.allclose(adv[0], torch.tensor([1.5, -0.5, -0.5, -0.5]), atol=1e-5)
    # group 2: mean 0.5, unbiased std sqrt(1/3) -> +-0.5*sqrt(3)
    s = 0.5 * 3 ** 0.5
    assert torch.allclose(adv[1], torch.tensor([s, s, -s, -s]), atol=1e-5)
    # all equal: no signal
    assert torch.equal(adv[2], torch.zeros(4))
    # every group's advantages sum to zero
    assert torch.allclose(adv.sum(dim=1), torch.zeros(3), atol=1e-5)


def test_advantages_use_unbiased_std_and_eps():
    adv = voting.grpo_advantages(torch.tensor([[2.0, 0.0]]), eps=0.5)
    # mean 1, unbiased std sqrt(2): (2-1)/(sqrt(2)+0.5)
    assert adv[0, 0].item() == pytest.approx(1 / (2 ** 0.5 + 0.5), rel=1e-6)


def test_advantages_group_of_one_and_bad_shape():
    assert torch.equal(voting.grpo_advantages(torch.tensor([[1.0], [0.0]])), torch.tensor([[1.0], [0.0]]))
    with pytest.raises(ValueError, match="groups, group_size"):
        voting.grpo_advantages(torch.tensor([1.0, 0.0]))


# -- the label rule ---------------------------------------------------------------------------
def test_tie_broken_by_first_seen_answer():
    assert voting.pseudo_label(["2", "3", "3", "2"]) == "2"
    assert voting.pseudo_label(["3", "2", "2", "3"]) == "3"


def test_empty_answer_never_becomes_the_label():
    # the reference would label this group "" and reward the three answer-less rollouts
    assert voting.pseudo_label([None, None, None, "5"]) == "5"
    vote = voting.vote_group(["no idea", "still none", "Answer: 7", "hmm"])
    assert vote.label == "7"
    assert vote.rewards == [0.0, 0.0, 1.0, 0.0]


def test_group_without_any_answer_has_no_label_and_no_signal():
    vote = voting.vote_group(["", "nothing here", "", "nope"])
    assert vote.label is None
    assert vote.rewards == [0.0] * 4
    assert torch.equal(voting.grpo_advantages(torch.tensor([vote.rewards])), torch.zeros(1, 4))


# -- rewards ----------------------------------------------------------------------------------
def test_rewards_for_equivalent_answer_forms():
    assert voting.rewards_against(["0.5", "1/2", "\\frac{1}{2}", "3", None], "1/2") == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert voting.rewards_against(["10", "10.0", "12"], "10") == [1.0, 1.0, 0.0]
    assert voting.rewards_against(["4", "4"], None) == [0.0, 0.0]


def test_votes_merge_equivalent_forms():
    vote = voting.vote_group(["Answer: 0.5", "Answer: 3", "Answer: 1/2", "Answer: 3", "Answer: \\frac{1}{2}"])
    assert vote.label in ("0.5", "1/2", "\\frac{1}{2}")
    assert vote.rewards == [1.0, 0.0, 1.0, 0.0, 1.0]
    assert vote.majority_ratio == pytest.approx(0.6)


def test_monitor_metrics_against_truth():
    votes = [voting.GroupVote(["4", "4", "5", None], "4", [1.0, 1.0, 0.0, 0.0]),
             voting.GroupVote(["1", "2", "2", "2"], "2", [0.0, 1.0, 1.0, 1.0])]
    m = voting.monitor_metrics(votes, ["5", "2"])
    assert m["label_accuracy"] == pytest.approx(0.5)
    # group 1: pseudo [1,1,0,0] vs true [0,0,1,0] -> 1/4 agree; group 2: all agree
    assert m["reward_accuracy"] == pytest.approx((0.25 + 1.0) / 2)
    assert m["train_pass@1"] == pytest.approx((0.25 + 0.75) / 2)
    assert voting.monitor_metrics(votes, [None, None]) == {}


def test_pass_at_1_and_maj():
    assert voting.pass_at_1_and_maj(["3", "3", "4", None], "3") == (0.5, 1.0)
    assert voting.pass_at_1_and_maj([None, None], "3") == (0.0, 0.0)


# -- settings and files -----------------------------------------------------------------------
def test_config_rejects_bad_values_by_name():
    with pytest.raises(ValueError, match="n_train"):
        TTRLConfig(n_votes=4, n_train=8).validate()
    with pytest.raises(ValueError, match="unknown TTRL setting.*stepz"):
        TTRLConfig.from_params({"stepz": 3})
    cfg = TTRLConfig.from_params({"steps": "3", "lr": 1, "betas": [0.9, 0.95]})
    assert cfg.steps == 3 and cfg.lr == 1.0 and cfg.betas == (0.9, 0.95)


def test_training_prompts_drop_answers_by_construction(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"problem": "1+1", "answer": "2"}) + "\n\n"
                 + json.dumps({"question": "2*3", "answer": 6}) + "\n")
    before = f.read_bytes()
    prompts = load_prompts(f)
    assert [p.problem for p in prompts] == ["1+1", "2*3"]
    assert set(vars(prompts[0])) == {"index", "problem"}  # no field could carry a label
    labelled = load_labelled(f)
    assert [(p.problem, p.answer) for p in labelled] == [("1+1", "2"), ("2*3", "6")]
    assert f.read_bytes() == before


def test_bad_prompt_files_name_file_and_line(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"problem": "1+1"}\n{"problem": oops}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl: line 2: not valid JSON"):
        load_prompts(f)
    g = tmp_path / "nolabel.jsonl"
    g.write_text('{"problem": "1+1"}\n')
    with pytest.raises(ValueError, match=r"nolabel.jsonl: line 1: no answer"):
        load_labelled(g)
    h = tmp_path / "p.txt"
    h.write_text("1+1\n\n2+2\n")
    assert [p.problem for p in load_prompts(h)] == ["1+1", "2+2"]
    with pytest.raises(FileNotFoundError, match="missing.jsonl"):
        load_prompts(tmp_path / "missing.jsonl")


def test_step_indices_cover_each_epoch_and_depend_only_on_step():
    seen = [i for s in range(5) for i in step_indices(10, s, 4, seed=3)]
    assert sorted(seen[:10]) == list(range(10))  # first epoch: a permutation
    assert step_indices(10, 3, 4, seed=3) == step_indices(10, 3, 4, seed=3)
    assert step_indices(10, 0, 4, seed=3) != step_indices(10, 0, 4, seed=4)
