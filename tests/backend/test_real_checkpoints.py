"""Real checkpoints end to end, on stand-ins built here (tests/backend/_real_models.py): a Qwen2
chat policy with a byte-level BPE and a chat template, a sentencepiece-style Llama without a pad
token saved as bf16 shards, and PRMs in Math-Shepherd's and Qwen2.5-Math-PRM's formats."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _real_models import (  # noqa: E402
    TRAIN_PAIRS,
    make_chat_policy,
    make_llama,
    make_math_shepherd,
    make_qwen_prm,
    problem,
    qwen_tokenizer,
    sp_tokenizer,
    write_problems,
)

ROOT = Path(__file__).resolve().parents[2]


def cli(ws: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "--workspace", str(ws), *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


# -- the prompt layer (no model) ------------------------------------------------------------------
def test_templates_keep_other_braces_and_chat_prompts_carry_the_system_message():
    from backend.generation.prompting import PromptParams, build_prompt, render_template, resolve, unescape

    assert render_template("Solve {problem}. Put it in \\boxed{}.", "1+1") == "Solve 1+1. Put it in \\boxed{}."
    with pytest.raises(ValueError, match="must contain"):
        PromptParams(prompt_template="no placeholder").validate()
    assert unescape("\\n\\n") == "\n\n" and unescape("a\\b") == "a\\b"
    tok = qwen_tokenizer()
    rp = resolve(tok, PromptParams(system_prompt="Put your final answer within \\boxed{}."))
    assert (rp.profile, rp.delimiter, rp.max_tokens, rp.step_tokens) == ("chat", "\n\n", 2048, 512)
    text = build_prompt(tok, "What is 1 plus 2?", rp)
    assert text == ("<|im_start|>system\nPut your final answer within \\boxed{}.<|im_end|>\n<|im_start|>user\n"
                    "What is 1 plus 2?<|im_end|>\n<|im_start|>assistant\n")
    plain = resolve(tok, PromptParams(chat_template=False, prompt_template="Q: {problem}\\nA:"))
    assert (plain.profile, build_prompt(tok, "x", plain)) == ("base", "Q: x\nA:")
    from backend.models.zoo.tokenizer import build_tokenizer

    zoo = resolve(build_tokenizer())
    assert (zoo.profile, zoo.prompt_template, zoo.delimiter, zoo.max_tokens, zoo.step_tokens) == \
        ("zoo", "Problem: {problem}\n", "\n", 96, 32)


def test_stop_ids_take_every_eos_and_pad_falls_back_to_eos():
    from transformers import GenerationConfig

    from backend.generation.prompting import pad_id, stop_ids

    tok = qwen_tokenizer()
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    assert tok.eos_token_id != im_end
    assert im_end in stop_ids(tok, GenerationConfig(eos_token_id=[im_end, tok.eos_token_id]))
    assert im_end in stop_ids(tok, None, chat=True)          # chat end-of-turn tokens
    sp = sp_tokenizer()
    assert sp.pad_token_id is None and pad_id(sp) == sp.eos_token_id


# -- a chat policy: CLI == API ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def chat(tmp_path_factory):
    root = tmp_path_factory.mktemp("chat")
    policy = make_chat_policy(root / "policy")
    data = write_problems(root / "problems.jsonl", TRAIN_PAIRS)
    return root, policy, data


def test_chat_policy_scores_the_same_through_cli_and_api(chat):
    from backend.generation.policy import Policy
    from backend.tts.data import load_problems
    from backend.tts.strategies import Searcher
    from backend.tts.params import TTSParams

    root, policy, data = chat
    pol = Policy.load(policy, "cpu", "float32")
    im_end = pol.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert im_end in pol.eos_ids                   # from generation_config; the tokenizer's eos differs
    searcher = Searcher(pol, None, TTSParams(n=1))
    api = searcher.run("greedy", load_problems(data))
    assert [r.correct for r in api] == [True] * len(TRAIN_PAIRS)
    for r in api:                                   # stopped at <|im_end|>; steps split on the blank line
        cand = r.candidates[0]
        assert cand.finish == "eos" and cand.text.endswith("}.") and len(cand.steps) == 2

    out = root / "cli_run"
    res = cli(root / "ws", "tts", "run", "--policy", str(policy), "--data", str(data), "--strategy", "greedy",
              "--n", "1", "--out", str(out), "--dtype", "float32", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    got = json.loads(res.stdout)["result"]
    assert got["accuracy"] == 1.0 and got["answers"] == [r.answer for r in api]
    assert got["prompt"]["profile"] == "chat" and got["prompt"]["example"].startswith("<|im_start|>user\n")


def test_merge_eval_on_a_chat_model_extracts_boxed_answers_with_an_interval(chat):
    root, policy, _ = chat
    evals = root / "sums_eval.jsonl"
    evals.write_text("".join(json.dumps({"prompt": problem(a, b)[0], "answer": problem(a, b)[1]}) + "\n"
                             for a, b in TRAIN_PAIRS), encoding="utf-8")
    res = cli(root / "ws", "merge-eval", str(policy), "--tasks", str(evals), "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    got = json.loads(res.stdout)["result"]
    st = got["stats"]["sums_eval"]
    assert got["accuracy"]["sums_eval"] == 1.0 and st["n"] == len(TRAIN_PAIRS) and st["correct"] == st["n"]
    lo, hi = st["ci95"]
    assert 0.5 < lo < 1.0 and hi == 1.0


def test_evaluator_runs_on_a_sentencepiece_llama_without_pad(tmp_path):
    from backend.merging.evaluation import task_stats

    model = make_llama(tmp_path / "llama")
    evals = tmp_path / "t.jsonl"
    evals.write_text("".join(json.dumps({"prompt": f"What is {a} plus 1?", "answer": str(a + 1)}) + "\n"
                             for a in range(3)), encoding="utf-8")
    st = task_stats(model, {"t": evals}, max_new_tokens=6)["t"]
    assert st["n"] == 3 and 0 <= st["correct"] <= 3 and st["prompt"]["profile"] == "base"


# -- PRMs as their model cards build the input ----------------------------------------------------
QUESTION = "Janet has 16 eggs. She eats 3. How many are left?"
SOLUTION = "Step 1: Janet has 16 eggs. ки\nStep 2: She eats 3, so 16 - 3 = 13 left. ки\nStep 3: The answer is: 13 ки"


def test_math_shepherd_scores_equal_the_model_card_recipe(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from backend.prm import load_prm
    from backend.prm.steps import split_steps

    folder = make_math_shepherd(tmp_path / "ms")
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    # the model card: candidate tokens from "+ -", the tag id from "ки", the question and the
    # labelled output joined by a space, tokenized whole, scores read where the id is the tag
    candidates = tok.encode("+ -")[1:]
    tag = tok.encode("ки")[-1]
    ids = torch.tensor([tok.encode(f"{QUESTION} {SOLUTION}")])
    with torch.no_grad():
        logits = model(ids).logits[:, :, candidates]
    card = logits.softmax(dim=-1)[:, :, 0][ids == tag].tolist()
    assert len(card) == 3
    prm = load_prm(folder, "cpu", dtype="float32")      # recognised by its tag, no descriptor
    steps = split_steps(SOLUTION, "auto")                # labels removed by the split ...
    assert len(steps) == 3 and not any(s.startswith("Step") for s in steps)
    ours = prm.score(QUESTION, steps)                    # ... and put back for this PRM
    assert ours == pytest.approx(card, abs=1e-5)


def test_qwen_prm_scores_equal_the_model_card_recipe(tmp_path):
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from backend.prm import load_prm

    folder = make_qwen_prm(tmp_path / "qprm")
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForTokenClassification.from_pretrained(folder, dtype=torch.float32)
    steps = ["To find the total, add 3 and 4.", "3 + 4 = 7.", "The answer is \\boxed{7}."]
    messages = [{"role": "system", "content": "Please reason step by step, and put your final answer within "
                                              "\\boxed{}."},
                {"role": "user", "content": "What is 3 plus 4?"},
                {"role": "assistant", "content": "<extra_0>".join(steps) + "<extra_0>"}]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
    ids = torch.tensor([tok.encode(text)])
    with torch.no_grad():
        probs = model(ids).logits.softmax(-1)[..., 1]
    card = probs[ids == tok.convert_tokens_to_ids("<extra_0>")].tolist()
    ours = load_prm(folder, "cpu", dtype="float32").score("What is 3 plus 4?", steps)
    assert ours == pytest.approx(card, abs=1e-5)


def test_a_token_classifier_without_descriptor_is_refused_with_the_presets(tmp_path):
    from backend.prm.descriptor import read_descriptor

    folder = make_qwen_prm(tmp_path / "q")
    (folder / "benchtop_prm.json").unlink()
    with pytest.raises(ValueError, match="math-shepherd.*zoo|qwen2.5-math-prm"):
        read_descriptor(folder)
    assert read_descriptor(folder, "qwen2.5-math-prm")["step_separator"] == "<extra_0>"


# -- dtype, tied heads, T-Switch apply ------------------------------------------------------------
def _dtypes(folder: Path) -> set[str]:
    from backend.compression.model_io import index_tensors

    return {e.dtype for e in index_tensors(folder).values()}


def test_bf16_in_bf16_out_for_tswitch_apply_and_ttrl(tmp_path):
    from backend.merging.tswitch import apply_tswitch, build_tswitch
    from backend.ttrl.config import TTRLConfig
    from backend.ttrl.trainer import train

    tok = sp_tokenizer()
    base = make_llama(tmp_path / "base", seed=0, tok=tok)
    ft = make_llama(tmp_path / "ft", seed=0, tok=tok, perturb=0.01)
    assert len(list(base.glob("*.safetensors"))) > 1 and _dtypes(base) == {"BF16"}
    info = build_tswitch(base, {"ft": ft}, 0.6, tmp_path / "sw")
    t = info["tasks"]["ft"]
    assert info["dtype"] == "bfloat16" and t["pct_of_dtype"] == pytest.approx(2 * t["pct_of_fp32"])
    res = cli(tmp_path / "ws", "tswitch", "apply", str(tmp_path / "sw"), "--base", str(base), "--tasks", "ft",
              "--out", str(tmp_path / "applied"), "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    assert _dtypes(tmp_path / "applied") == {"BF16"}
    apply_tswitch(base, tmp_path / "sw", {"ft": 1.0}, tmp_path / "applied_api")
    from safetensors.torch import load_file

    a = {k: v for f in sorted((tmp_path / "applied").glob("*.safetensors")) for k, v in load_file(f).items()}
    b = {k: v for f in sorted((tmp_path / "applied_api").glob("*.safetensors")) for k, v in load_file(f).items()}
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)

    prompts = tmp_path / "p.txt"
    prompts.write_text("What is 1 plus 1?\nWhat is 2 plus 2?\n", encoding="utf-8")
    cfg = TTRLConfig(steps=1, prompts_per_step=2, n_votes=2, n_train=2, max_new_tokens=4, kl_coef=0.0,
                     eval_every=0, checkpoint_every=5)
    out = train(base, prompts, tmp_path / "ttrl", cfg)
    assert _dtypes(Path(out["model"])) == {"BF16"}
    assert json.loads((Path(out["model"]) / "config.json").read_text())["dtype"] == "bfloat16"


def test_tied_base_with_untied_finetune_merges_as_mergekit(tmp_path):
    import torch
    import yaml
    from transformers import LlamaForCausalLM

    from backend.merging.config import parse_config, resolve_value
    from backend.merging.merge import run_merge

    assert resolve_value([0.0, 1.0], "lm_head.weight", 4) == 1.0          # post-layer: last value
    assert resolve_value([0.0, 1.0], "model.norm.weight", 4) == 1.0
    assert resolve_value([0.0, 1.0], "model.embed_tokens.weight", 4) == 0.0
    tok = sp_tokenizer()
    base = make_llama(tmp_path / "base", dtype="float32", tok=tok)
    cfg = json.loads((base / "config.json").read_text())
    m = LlamaForCausalLM.from_pretrained(base)
    m.config.tie_word_embeddings = True
    m.tie_weights() if hasattr(m, "tie_weights") else None
    tied = tmp_path / "tied"
    m.save_pretrained(tied)
    tok.save_pretrained(tied)
    from backend.compression.model_io import index_tensors

    assert "lm_head.weight" not in index_tensors(tied), cfg
    config = parse_config(yaml.safe_load(f"merge_method: linear\nmodels:\n  - model: {tied}\n    parameters: "
                                         f"{{weight: 0.5}}\n  - model: {base}\n    parameters: {{weight: 0.5}}\n"))
    run_merge(config, tmp_path / "merged")
    merged = LlamaForCausalLM.from_pretrained(tmp_path / "merged")
    want = 0.5 * (m.get_input_embeddings().weight + LlamaForCausalLM.from_pretrained(base).lm_head.weight)
    assert torch.allclose(merged.lm_head.weight, want, atol=1e-6)
    assert json.loads((tmp_path / "merged" / "config.json").read_text())["tie_word_embeddings"] is False


def test_ttrl_rollout_batches_in_shards_on_a_chat_model_and_a_padless_bf16_llama(chat, tmp_path):
    """TTRL's rollout batches joined from shards (prompts of other lengths left-padded again) on the
    Qwen-style chat policy (byte-level BPE, chat template) and on the sentencepiece Llama without a
    pad token in bf16 shards (pad falls back to eos): the same rollouts and loss as one shard."""
    import dataclasses

    from backend.scale import ExecutorParams
    from backend.ttrl.config import TTRLConfig
    from backend.ttrl.trainer import NullContext, train

    _, policy, _ = chat
    llama = make_llama(tmp_path / "llama", seed=1)
    prompts = tmp_path / "p.txt"
    prompts.write_text("What is 1 plus 1?\nWhat is 12 plus 30, exactly?\nWhat is 7?\n", encoding="utf-8")
    cfg = TTRLConfig(steps=2, prompts_per_step=3, n_votes=2, n_train=2, max_new_tokens=6, kl_coef=0.0, lr=1e-3,
                     eval_every=0, checkpoint_every=5, rollout_batch=1, seed=3)
    for name, model, c in (("chat", policy, cfg), ("llama", llama, dataclasses.replace(cfg, dtype="bfloat16"))):
        one, two = NullContext(), NullContext()
        train(model, prompts, tmp_path / f"{name}-1", c, ctx=one)
        r = train(model, prompts, tmp_path / f"{name}-2", c, ctx=two, executor=ExecutorParams(shards=3))
        assert r["shards"] == 3
        texts = [json.loads(f.read_text())["groups"] for f in sorted((tmp_path / f"{name}-1" / "rollouts").glob("*"))]
        again = [json.loads(f.read_text())["groups"] for f in sorted((tmp_path / f"{name}-2" / "rollouts").glob("*"))]
        assert texts == again and len(texts) == 2, name
        assert one.metrics["loss"] == two.metrics["loss"], name


def test_merge_study_cli_on_bf16_shards(tmp_path):
    """merge-study over sentencepiece Llamas in bf16 shards, with an eval file of its own."""
    tok = sp_tokenizer()
    base = make_llama(tmp_path / "base", seed=0, tok=tok)
    ft = make_llama(tmp_path / "ft", seed=0, tok=tok, perturb=0.01)
    evals = tmp_path / "e.jsonl"
    evals.write_text("".join(json.dumps({"prompt": f"{a}+{a}=", "answer": str(2 * a)}) + "\n" for a in range(5)))
    res = cli(tmp_path / "ws", "merge-study", str(base), str(ft), "--method", "ties", "--eval", f"ft={evals}",
              "--out", str(tmp_path / "merged"), "--shards", "2", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    r = json.loads(res.stdout)["result"]
    assert r["shards"] == 2 and list(r["accuracy"]) == ["base", "ft-ft", "merged (ties)"]
    assert all(0.0 <= a["ft"] <= 1.0 for a in r["accuracy"].values())
    assert _dtypes(tmp_path / "merged") == {"BF16"}
