"""The zoo's training stages: base, task fine-tunes, policy, PRM, GenPRM, each with its eval.

Each stage returns ``(model, figures)``; the orchestrator (build.py) saves folders and collects the
figures into the manifest. All models share one ``LlamaConfig`` and the char tokenizer, so the
fine-tunes are full-parameter deltas of the base (what merging and delta compression need).
"""
from __future__ import annotations

import copy
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from backend.models.zoo import tasks as T
from backend.models.zoo import verifiers as V
from backend.models.zoo.profiles import Profile
from backend.models.zoo.train import encode_pairs, exact_match, generate, lm_batches, train_loop

VOTE_TEMPERATURE = 0.7  # sampling temperature of the maj@16 figure
SKILL_LINE_SHARE = 0.3  # equation-document lines that are a fine-tune skill in another format


def llama_config(tok, prof: Profile):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=len(tok), hidden_size=prof.hidden, intermediate_size=2 * prof.hidden,
                       num_hidden_layers=prof.layers, num_attention_heads=prof.heads,
                       num_key_value_heads=prof.heads, max_position_embeddings=512, rope_theta=10000.0,
                       bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                       pad_token_id=tok.pad_token_id, tie_word_embeddings=False, dtype="float32")


def save_model(model, tok, folder: Path, extra: dict | None = None) -> None:
    """An HF folder: config.json, model.safetensors, tokenizer files, generation_config.json."""
    from transformers import GenerationConfig

    from backend.models.zoo.tokenizer import save_tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    save_tokenizer(tok, folder)
    gc = GenerationConfig(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                          pad_token_id=tok.pad_token_id, max_new_tokens=128)
    gc.save_pretrained(folder)
    for name, obj in (extra or {}).items():
        (folder / name).write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def pretrain_docs(n: int, rng: np.random.Generator) -> list[str]:
    """Mixed arithmetic text: lines of single equations (some of them the fine-tune tasks'
    skills in other formats, ``tasks.skill_line``), and worked chain solutions."""
    docs = []
    for _ in range(n):
        if rng.random() < 0.35:
            p = T.make_problem(int(rng.integers(1, 6)), rng)
            docs.append(f"Problem: {p.text}\n{p.solution()}")
        else:
            lines = []
            for _ in range(4):
                if rng.random() < SKILL_LINE_SHARE:
                    lines.append(T.skill_line(rng))
                    continue
                p = T.make_problem(int(rng.integers(1, 6)), rng)
                lines.append(p.steps()[int(rng.integers(0, len(p.ops)))])
            docs.append("\n".join(lines))
    return docs


def train_base(tok, prof: Profile, data: dict, seed: int, cancel, on_step):
    """Pretrain the base; also returns a copy of its weights at ``prof.policy_init_frac`` of the
    way, where the policy starts (the finished base solves the default level too well)."""
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    model = LlamaForCausalLM(llama_config(tok, prof))
    items = encode_pairs(tok, [("", d) for d in data["pretrain"]])
    snap_at = max(1, int(round(prof.policy_init_frac * prof.base_steps)))
    snapshot: dict = {}

    def step_hook(step: int, loss: float) -> None:
        if step + 1 == snap_at:
            snapshot.update({k: v.detach().clone() for k, v in model.state_dict().items()})
        on_step(step, loss)

    r = train_loop(model, lm_batches(tok, items, prof.batch, np.random.default_rng(seed)), prof.base_steps,
                   prof.base_lr, warmup=50, on_step=step_hook, cancel=cancel)
    return model, snapshot, {"train_loss": round(r["loss"], 4), "train_seconds": r["seconds"], "steps": r["steps"],
                             "policy_snapshot_step": snap_at}


def chain_accuracy(model, tok, problems: list) -> float:
    """Greedy final-answer accuracy on chain problems."""
    outs = generate(model, tok, [f"Problem: {p.text}\n" for p in problems], 96)
    return float(np.mean([T.parse_solution(o[0])[1] == str(p.answer) for p, o in zip(problems, outs)]))


def noisy_solution(p, rng: np.random.Generator, slip_rate: float) -> str:
    """A worked solution that, with probability ``slip_rate``, carries one slip forward (the
    kinds of ``verifiers.corrupted_steps``); the answer line follows the last step."""
    steps = V.corrupted_steps(p, rng, p_error=slip_rate)
    lines = [f"Step {i}: {s}" for i, s in enumerate(steps, 1)]
    return "\n".join(lines + [f"Answer: {V.claimed_value(steps[-1])}"])


def train_policy(base, snapshot: dict, tok, prof: Profile, data: dict, seed: int, cancel, on_step):
    """Fine-tune an early base checkpoint on worked solutions of which ``prof.policy_slip_rate``
    carry one slip, until its greedy accuracy on a calibration set (disjoint from every eval
    set) reaches ``prof.policy_target`` after at least ``prof.policy_min_steps`` steps.

    Why noisy targets: a policy trained on clean solutions errs the same way on every sample of
    a problem, so its sampled answers are no better than one greedy answer and TTRL's majority
    labels have nothing to teach. A policy that has learnt that slips happen at random samples
    wrong answers that disagree with each other: pass@1 sits well below majority vote, which is
    the gap TTRL's sharpening closes. Why the calibrated stop: how well the base solves chains
    varies from one data draw to the next (greedy 64-87% for the finished base), so a fixed
    step count cannot keep the policy in its band.
    """
    torch.manual_seed(seed)
    model = copy.deepcopy(base)
    model.load_state_dict(snapshot)
    cal = data["policy_cal"]
    curve = [(0, round(chain_accuracy(model, tok, cal), 4))]
    rng = np.random.default_rng(seed)
    pairs = [(f"Problem: {p.text}\n", noisy_solution(p, rng, prof.policy_slip_rate)) for p in data["policy_train"]]

    def stop(step: int) -> bool:
        if step % prof.policy_check_every:
            return False
        curve.append((step, round(chain_accuracy(model, tok, cal), 4)))
        model.train()
        return step >= prof.policy_min_steps and curve[-1][1] >= prof.policy_target

    r = train_loop(model, lm_batches(tok, encode_pairs(tok, pairs), prof.batch, np.random.default_rng(seed)),
                   prof.policy_steps, prof.policy_lr, warmup=10, on_step=on_step, cancel=cancel, stop=stop)
    return model, {"train_loss": round(r["loss"], 4), "train_seconds": r["seconds"], "steps": r["steps"],
                   "slip_rate": prof.policy_slip_rate, "calibration_target": prof.policy_target,
                   "calibration_curve": curve, "n_calibration": len(cal)}


def finetune(base, tok, pairs: list[tuple[str, str]], steps: int, lr: float, batch: int, seed: int,
             cancel, on_step):
    """Full-parameter fine-tune of a copy of ``base`` on (prompt, completion) pairs."""
    torch.manual_seed(seed)
    model = copy.deepcopy(base)
    items = encode_pairs(tok, pairs)
    r = train_loop(model, lm_batches(tok, items, batch, np.random.default_rng(seed)), steps, lr,
                   warmup=10, on_step=on_step, cancel=cancel)
    return model, {"train_loss": round(r["loss"], 4), "train_seconds": r["seconds"], "steps": r["steps"]}


def task_matrix(models: dict, tok, evals: dict[str, list[dict]]) -> dict[str, dict[str, float]]:
    """Exact-match accuracy of every model on every task's held-out set."""
    return {name: {t: round(exact_match(m, tok, ex, max_new_tokens=8), 4) for t, ex in evals.items()}
            for name, m in models.items()}


def policy_figures(model, tok, prof: Profile, data: dict, seed: int) -> dict:
    """Greedy accuracy per level and at the default level, and maj@votes at the default level."""
    from collections import Counter

    def acc(problems, outs):
        return float(np.mean([T.parse_solution(o)[1] == str(p.answer) for p, o in zip(problems, outs)]))

    figs: dict = {"greedy_by_level": {}}
    for lvl, probs in data["policy_eval_levels"].items():
        outs = generate(model, tok, [f"Problem: {p.text}\n" for p in probs], 96)
        figs["greedy_by_level"][str(lvl)] = round(acc(probs, [o[0] for o in outs]), 4)
    probs = data["policy_eval"]
    prompts = [f"Problem: {p.text}\n" for p in probs]
    greedy = generate(model, tok, prompts, 96)
    samples = generate(model, tok, prompts, 96, temperature=VOTE_TEMPERATURE, num_samples=prof.votes, seed=seed)
    maj, pass1 = [], []
    for p, outs in zip(probs, samples):
        answers = [T.parse_solution(o)[1] for o in outs]
        pass1.append(np.mean([a == str(p.answer) for a in answers]))
        votes = Counter(a for a in answers if a)
        maj.append(bool(votes) and votes.most_common(1)[0][0] == str(p.answer))
    figs.update(level=T.DEFAULT_LEVEL, n=len(probs), greedy=round(acc(probs, [g[0] for g in greedy]), 4),
                sample_pass1=round(float(np.mean(pass1)), 4), temperature=VOTE_TEMPERATURE, votes=prof.votes)
    figs[f"maj@{prof.votes}"] = round(float(np.mean(maj)), 4)
    return figs


def sample_solutions(model, tok, problems: list, n: int, seed: int, temperature: float = 1.0) -> list[dict]:
    """The policy's sampled solutions with true step labels (records for PRM data / ProcessBench)."""
    outs = generate(model, tok, [f"Problem: {p.text}\n" for p in problems], 96, temperature=temperature,
                    num_samples=n, seed=seed)
    recs = []
    for p, group in zip(problems, outs):
        for text in group:
            steps, ans = T.parse_solution(text)
            if not steps:
                continue
            labels = T.step_labels(p, steps)
            recs.append({"problem": p, "steps": steps, "labels": labels, "answer": ans,
                         "final_answer_correct": ans == str(p.answer)})
    return recs


def synthetic_record(p, rng: np.random.Generator) -> dict:
    """A reference solution with a possible injected slip, labelled like a policy sample."""
    steps = V.corrupted_steps(p, rng)
    labels = T.step_labels(p, steps)
    ans = V.claimed_value(steps[-1])
    return {"problem": p, "steps": steps, "labels": labels, "answer": ans, "generator": "synthetic-slips",
            "final_answer_correct": ans == str(p.answer)}


def train_prm(init, tok, prof: Profile, records: list[dict], seed: int, cancel, on_step):
    """Token-classification PRM initialised from a causal LM's transformer body (the fully
    trained base: it knows the arithmetic better than the deliberately weak policy)."""
    from transformers import LlamaForTokenClassification

    torch.manual_seed(seed)
    cfg = copy.deepcopy(init.config)
    cfg.num_labels = 2
    cfg.id2label, cfg.label2id = {0: "incorrect", 1: "correct"}, {"incorrect": 0, "correct": 1}
    prm = LlamaForTokenClassification(cfg)
    prm.model.load_state_dict(init.model.state_dict())
    rng = np.random.default_rng(seed)
    items = []
    for r in records:
        ids, _, lab = V.prm_text_items(tok, r["problem"].text, r["steps"], r["labels"],
                                       with_prefix=bool(rng.random() < 0.5))
        items.append((ids, lab))
    t0 = time.perf_counter()
    res = train_loop(prm, V.prm_batches(items, prof.batch, tok.pad_token_id, rng), prof.prm_steps, prof.prm_lr,
                     warmup=20, on_step=on_step, cancel=cancel)
    return prm, {"train_loss": round(res["loss"], 4), "train_seconds": round(time.perf_counter() - t0, 2),
                 "steps": res["steps"], "train_records": len(records),
                 "train_steps_positive": int(sum(sum(r["labels"]) for r in records)),
                 "train_steps_total": int(sum(len(r["labels"]) for r in records))}


def prm_figures(prm, tok, records: list[dict]) -> dict:
    scores = V.prm_scores(prm, tok, [(r["problem"].text, r["steps"]) for r in records])
    s = [x for row in scores for x in row]
    y = [x for r in records for x in r["labels"]]
    return {"roc_auc": round(V.roc_auc(s, y), 4), "n_steps": len(y), "n_positive": int(sum(y)),
            "accuracy@0.5": round(float(np.mean([(a > 0.5) == bool(b) for a, b in zip(s, y)])), 4)}


def genprm_examples(problems: list, n: int, rng: np.random.Generator,
                    extra: Sequence[dict] = ()) -> list[tuple[str, str]]:
    """Synthetic verifier examples: corrupted reference solutions plus the policy's own steps."""
    pairs = []
    pool = [(r["problem"], r["steps"]) for r in extra]
    for i in range(n):
        if pool and rng.random() < 0.4:
            p, steps = pool[int(rng.integers(0, len(pool)))]
        else:
            p = problems[i % len(problems)]
            steps = V.corrupted_steps(p, rng)
        k = int(rng.integers(1, len(steps) + 1))
        pairs.append(V.genprm_training_text(p, steps, k))
    return pairs


def genprm_figures(model, tok, records: list[dict], n: int) -> dict:
    """Verdict agreement with true labels on held-out policy steps, running each generated snippet."""
    cases = [(r, k) for r in records for k in range(1, len(r["steps"]) + 1)][:n]
    prompts = [V.genprm_prompt(r["problem"].text, r["steps"], k) for r, k in cases]
    stop = tok.convert_tokens_to_ids("</verify>")
    crits = [o[0] for o in generate(model, tok, prompts, 400, stop_ids=[stop])]
    runs = V.run_snippets([V.extract_code(c) for c in crits])
    texts = [p + c.split("</verify>")[0] + "</verify>\n" + V.output_block(out)
             for p, c, (_, out) in zip(prompts, crits, runs)]
    scores = V.verdict_scores(model, tok, texts)
    labels = [r["labels"][k - 1] for r, k in cases]
    agree = [(s > 0.5) == bool(y) for s, y in zip(scores, labels)]
    return {"agreement": round(float(np.mean(agree)), 4) if agree else 0.0, "n_steps": len(cases),
            "n_positive": int(sum(labels)), "snippets_ran": round(float(np.mean([ok for ok, _ in runs])), 4)
            if runs else 0.0, "roc_auc": round(V.roc_auc(scores, labels), 4)}
