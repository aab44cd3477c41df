"""TTRL training on a tiny random Llama: the update, resume, and labels never reaching the loss."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from backend.jobs.context import JobCancelled
from backend.ttrl import grpo, sampler
from backend.ttrl.config import TTRLConfig
from backend.ttrl.tiny import build_tiny_policy
from backend.ttrl.trainer import NullContext, train

PROBLEMS = [("12+7", "19"), ("3*4", "12"), ("20-5", "15"), ("6+6", "12")]


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    return build_tiny_policy(tmp_path_factory.mktemp("tiny") / "policy", seed=0)


@pytest.fixture
def files(tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"problem": p}) + "\n" for p, _ in PROBLEMS))
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("".join(json.dumps({"problem": p, "answer": a}) + "\n" for p, a in PROBLEMS))
    return prompts, labelled


def small_cfg(**kw) -> TTRLConfig:
    base = dict(steps=3, prompts_per_step=2, n_votes=6, n_train=4, max_new_tokens=12, lr=1e-3, eval_every=1,
                eval_n=3, checkpoint_every=10, seed=5)
    base.update(kw)
    return TTRLConfig(**base)


def load(path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


def params_of(path) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in load(path)[0].state_dict().items()}


def test_one_update_lowers_the_loss_and_changes_weights(policy):
    model, tok = load(policy)
    ref, _ = load(policy)
    gen = torch.Generator().manual_seed(0)
    roll = sampler.sample(model, tok, ["Problem: 1+2\n", "Problem: 3*3\n"], 4, max_new_tokens=10, temperature=1.0,
                          generator=gen)
    adv = torch.tensor([1.5, -0.5, -0.5, -0.5, 0.5, 0.5, -0.5, -0.5])
    batch = grpo.TrainBatch(roll.sequences, roll.prompt_mask, roll.response_mask, adv)
    with torch.no_grad():
        batch.old_logp = grpo.token_logprobs(model, batch.sequences, batch.prompt_mask, batch.response_mask)
        batch.ref_logp = grpo.token_logprobs(ref, batch.sequences, batch.prompt_mask, batch.response_mask)
        before_loss, _ = grpo.grpo_loss(batch.old_logp, batch, kl_coef=0.001)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    stats = grpo.update(model, opt, batch, temperature=1.0, clip_ratio=0.2, clip_ratio_c=3.0, kl_coef=0.001,
                        grad_clip=1.0)
    assert stats["loss"] == pytest.approx(float(before_loss), abs=1e-6)
    with torch.no_grad():
        logp = grpo.token_logprobs(model, batch.sequences, batch.prompt_mask, batch.response_mask)
        after_loss, after = grpo.grpo_loss(logp, batch, kl_coef=0.001)
    assert float(after_loss) < float(before_loss) - 1e-4
    assert after["kl"] > 0  # moved away from the reference
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert len(changed) == len(before)


def test_clipping_caps_the_ratio():
    mask = torch.ones(1, 3)
    batch = grpo.TrainBatch(torch.zeros(1, 4, dtype=torch.long), torch.ones(1, 1), mask, torch.tensor([1.0]),
                            old_logp=torch.zeros(1, 3))
    loss, stats = grpo.grpo_loss(torch.full((1, 3), 1.0), batch, clip_ratio=0.2)  # ratio e > 1.2
    assert float(loss) == pytest.approx(-1.2) and stats["clip_frac"] == 1.0
    batch.advantages = torch.tensor([-1.0])
    loss, _ = grpo.grpo_loss(torch.full((1, 3), 3.0), batch, clip_ratio=0.2, clip_ratio_c=3.0)  # dual clip
    assert float(loss) == pytest.approx(3.0)


def test_sampler_is_seeded_and_batch_consistent(policy):
    model, tok = load(policy)
    prompts = ["Problem: 1+2\n", "Problem: 100*30\n"]
    a = sampler.sample(model, tok, prompts, 3, max_new_tokens=8, temperature=1.0,
                       generator=torch.Generator().manual_seed(1))
    b = sampler.sample(model, tok, prompts, 3, max_new_tokens=8, temperature=1.0,
                       generator=torch.Generator().manual_seed(1))
    assert a.texts == b.texts and torch.equal(a.sequences, b.sequences)
    # greedy continuation of the short prompt is the same alone and left-padded beside a longer one
    alone = sampler.sample(model, tok, prompts[:1], 1, max_new_tokens=8, temperature=0)
    padded = sampler.sample(model, tok, prompts, 1, max_new_tokens=8, temperature=0)
    assert alone.texts[0] == padded.texts[0]


class StopAfter(NullContext):
    """Asks to stop once step ``k`` has reported its metrics (like the GUI's stop button)."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k, self.stop = k, False

    def metric(self, name, value, step=None):
        super().metric(name, value, step)
        if step == self.k and name == "reward_mean":
            self.stop = True

    def check_cancelled(self):
        if self.stop:
            raise JobCancelled()


def test_resume_gives_the_same_parameters_as_an_uninterrupted_run(policy, files, tmp_path):
    prompts, _ = files
    cfg = small_cfg(steps=4, eval_every=0)
    full = train(policy, prompts, tmp_path / "full", cfg)
    with pytest.raises(JobCancelled):
        train(policy, prompts, tmp_path / "part", dataclasses.replace(cfg), ctx=StopAfter(2))
    assert (tmp_path / "part" / "checkpoints" / "step-000002").is_dir()
    resumed = train(None, None, tmp_path / "part", dataclasses.replace(cfg), resume=True)
    assert resumed["resumed_from"] == 2 and resumed["steps"] == 4
    a, b = params_of(full["model"]), params_of(resumed["model"])
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], params_of(policy)[k]) for k in a)  # training did move the weights
    metrics = [json.loads(line) for line in (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()]
    assert sorted({m["step"] for m in metrics}) == [1, 2, 3, 4]


def test_a_run_file_from_before_the_prompt_group_still_resumes(policy, files, tmp_path):
    """Run files written before TTRLConfig became a Params class kept the prompt settings inside
    "config" (and no "prompt_settings"); such a run resumes with those settings, exactly."""
    from backend.generation.prompting import PromptParams
    from backend.ttrl.checkpoint import RUN_FILE

    prompts, _ = files
    cfg, prompt = small_cfg(steps=3, eval_every=0), PromptParams(system_prompt="Answer with a number.")
    full = train(policy, prompts, tmp_path / "full", cfg, prompt=prompt)
    with pytest.raises(JobCancelled):
        train(policy, prompts, tmp_path / "part", dataclasses.replace(cfg), prompt=prompt, ctx=StopAfter(2))
    run_file = tmp_path / "part" / RUN_FILE
    stored = json.loads(run_file.read_text())
    new = stored.pop("prompt_settings")
    stored["config"].update(prompt_template=new["prompt_template"], system_prompt=new["system_prompt"],
                            chat_template=new["chat_template"])          # the old layout
    run_file.write_text(json.dumps(stored))
    resumed = train(None, None, tmp_path / "part", TTRLConfig(steps=3), resume=True)
    assert resumed["resumed_from"] == 2 and resumed["steps"] == 3
    a, b = params_of(full["model"]), params_of(resumed["model"])
    assert all(torch.equal(a[k], b[k]) for k in a)   # same settings, system prompt included
    # and a run file naming a setting that no longer exists is refused with the file's name
    stored["config"]["stepz"] = 1
    run_file.write_text(json.dumps(stored))
    with pytest.raises(ValueError, match="ttrl_run.json.*stepz"):
        train(None, None, tmp_path / "part", TTRLConfig(steps=4), resume=True)


def test_ground_truth_does_not_reach_the_loss(policy, files, tmp_path):
    prompts, labelled = files
    before = prompts.read_bytes(), labelled.read_bytes()
    cfg = small_cfg(steps=2)
    blind = NullContext()
    monitored = NullContext()
    r1 = train(policy, prompts, tmp_path / "blind", cfg, ctx=blind)
    r2 = train(policy, prompts, tmp_path / "monitored", cfg, eval_path=labelled, ctx=monitored)
    a, b = params_of(r1["model"]), params_of(r2["model"])
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert blind.metrics["loss"] == monitored.metrics["loss"]
    # monitoring did happen on the labelled run only
    assert "label_accuracy" in monitored.metrics and "eval/pass@1" in monitored.metrics
    assert "label_accuracy" not in blind.metrics
    assert [s for s, _ in monitored.metrics["eval/pass@1"]] == [0, 1, 2]
    assert (prompts.read_bytes(), labelled.read_bytes()) == before  # inputs untouched


def test_refuses_a_used_output_folder_and_bad_policy(policy, files, tmp_path):
    prompts, _ = files
    out = tmp_path / "used"
    out.mkdir()
    (out / "x").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty"):
        train(policy, prompts, out, small_cfg(steps=1))
    with pytest.raises(FileNotFoundError, match="no config.json"):
        train(tmp_path, prompts, tmp_path / "o2", small_cfg(steps=1))
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        train(None, None, tmp_path / "o3", small_cfg(steps=1), resume=True)


def test_rollout_batches_keep_the_one_batch_seed_and_join_exactly(policy):
    """Batch 0 of a step draws what the whole step drew before rollout batches (seed (run, step));
    later batches have their own streams; joined batches keep every row's tokens and masks."""
    from backend.generation.prompting import pad_id
    from backend.ttrl.trainer import Prompting, _seed, rollout_batches

    model, tok = load(policy)
    cfg = small_cfg(n_votes=3, n_train=2, rollout_batch=2)
    prompting = Prompting(tok, model, cfg)
    problems = ["1+2", "100*30", "7"]
    parts = rollout_batches(model, tok, problems, 4, 0, cfg, prompting)
    assert [len(p.texts) for p in parts] == [6, 3]
    whole = sampler.sample(model, tok, prompting.prompts(problems[:2]), 3, max_new_tokens=prompting.max_new_tokens,
                           temperature=1.0, generator=torch.Generator().manual_seed(_seed(5, 4, 1)),
                           eos_ids=prompting.eos_ids)
    assert parts[0].texts == whole.texts and torch.equal(parts[0].sequences, whole.sequences)
    # the second batch is the same whether sampled after the first or on its own (another shard)
    alone = rollout_batches(model, tok, problems[2:], 4, 2, cfg, prompting)
    assert alone[0].texts == parts[1].texts and torch.equal(alone[0].sequences, parts[1].sequences)

    joined = sampler.concat(parts, pad_id(tok, prompting.eos_ids))
    assert joined.texts == parts[0].texts + parts[1].texts and joined.group_size == 3
    for r, (part, row) in enumerate([(p, i) for p in parts for i in range(len(p.texts))]):
        pm, rm = part.prompt_mask[row].bool(), part.response_mask[row].bool()
        prompt_of = part.sequences[row, :part.prompt_len]
        resp_of = part.sequences[row, part.prompt_len:]
        assert torch.equal(joined.sequences[r, :joined.prompt_len][joined.prompt_mask[r].bool()], prompt_of[pm])
        assert torch.equal(joined.sequences[r, joined.prompt_len:][joined.response_mask[r].bool()], resp_of[rm])
    # log-probabilities of a batch's responses are the same inside the joined batch
    lp_part = grpo.token_logprobs(model, parts[1].sequences, parts[1].prompt_mask, parts[1].response_mask)
    lp_joined = grpo.token_logprobs(model, joined.sequences[6:], joined.prompt_mask[6:], joined.response_mask[6:])
    m = parts[1].response_mask.bool()
    width = m.shape[1]
    assert torch.allclose(lp_part[m], lp_joined[:, :width][m], atol=1e-5)


def test_a_run_file_from_before_rollout_batches_resumes_as_one_batch(policy, files, tmp_path):
    """A run recorded without ``rollout_batch`` sampled each step as one batch; resuming it keeps that."""
    from backend.ttrl.checkpoint import RUN_FILE

    prompts, _ = files
    cfg = small_cfg(steps=3, eval_every=0, prompts_per_step=3, rollout_batch=3)
    full = train(policy, prompts, tmp_path / "full", cfg)
    with pytest.raises(JobCancelled):
        train(policy, prompts, tmp_path / "part", dataclasses.replace(cfg), ctx=StopAfter(2))
    run_file = tmp_path / "part" / RUN_FILE
    stored = json.loads(run_file.read_text())
    del stored["config"]["rollout_batch"]        # the old layout
    run_file.write_text(json.dumps(stored))
    resumed = train(None, None, tmp_path / "part", TTRLConfig(steps=3), resume=True)
    a, b = params_of(full["model"]), params_of(resumed["model"])
    assert all(torch.equal(a[k], b[k]) for k in a)
