"""One evaluator for every accuracy a job reports (merge-eval, compress --eval, ...): put each
problem to the model through the prompt layer, decode greedily, extract the final answer and
compare it with the grader; report accuracy with n and a 95% Wilson interval.

Why not first-line exact match: a real chat model answers "... so the answer is \\boxed{19}",
which that metric scores 0. The demo zoo keeps its metric's shape through its profile (raw
prompt, 8 tokens, stop at the first newline), so its figures are unchanged.

Rows are ``{"prompt" or "problem", "answer"}``. A row's ``prompt`` is already the text for a
model without a chat template, so it is used raw there; with a chat template it is the user turn.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from backend.generation.prompting import PromptParams, ResolvedPrompt, resolve

ZOO_EVAL_TOKENS = 8


def wilson(correct: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion (sensible at 0/n and n/n, unlike the normal one)."""
    if n <= 0:
        return (0.0, 1.0)
    p = correct / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, mid - half), min(1.0, mid + half))


def grade(text: str, reference: str) -> tuple[bool, str | None]:
    """(correct, extracted answer): the answer extracted from ``text`` (``\\boxed{}``, "The answer
    is", last number) equals ``reference`` by the grader, or the whole stripped text does (a
    one-word answer such as the zoo's ``upper`` task)."""
    from backend.mathgrade import extract_answer, is_equivalent
    from backend.mathgrade.normalize import normalize

    ans = extract_answer(text)
    if ans is not None and is_equivalent(ans, reference):
        return True, ans
    whole = text.strip()
    if whole and normalize(whole) == normalize(str(reference)):
        return True, whole
    return False, ans


def eval_prompt(tokenizer: Any, spec: PromptParams | None = None, max_tokens: int = 0) -> ResolvedPrompt:
    """The evaluation's prompt settings: rows' prompts are used raw without a chat template, and
    the zoo keeps its 8-token first-line answers."""
    spec = spec or PromptParams()
    rp = resolve(tokenizer, spec, max_tokens)
    if rp.profile != "chat" and not spec.prompt_template:
        rp.prompt_template = "{problem}"
    if rp.profile == "zoo":
        rp.max_tokens = int(max_tokens or ZOO_EVAL_TOKENS)
        if not spec.stop:
            rp.stop = ("\n",)
    return rp


def evaluate_policy(policy: Any, rows: Sequence[dict], rp: ResolvedPrompt, batch_size: int = 32,
                    progress: Callable[[int, int], None] | None = None, keep_outputs: bool = False) -> dict:
    """Greedy answers of ``policy`` (a :class:`~backend.generation.policy.Policy`) to ``rows``:
    ``{"accuracy", "n", "correct", "ci95": [lo, hi], "prompt": rp}`` (+ ``outputs``)."""
    from backend.generation.policy import SamplingParams
    from backend.generation.prompting import build_prompt

    tok = policy.tokenizer
    params = SamplingParams(0.0, 1.0, rp.max_tokens, False, rp.delimiter, rp.stop)
    correct, outputs = 0, []
    for s in range(0, len(rows), batch_size):
        part = rows[s:s + batch_size]
        prompts = [build_prompt(tok, str(r.get("prompt", r.get("problem", ""))), rp) for r in part]
        for r, c in zip(part, policy.generate(prompts, [0] * len(prompts), params, batch_size=batch_size)):
            text = c.text
            if rp.profile == "zoo":   # the zoo's answer is the first line
                text = text.split("\n")[0]
            ok, ans = grade(text, str(r["answer"]))
            correct += int(ok)
            if keep_outputs:
                outputs.append({"text": c.text, "answer": ans, "correct": ok})
        if progress is not None:
            progress(min(len(rows), s + batch_size), len(rows))
    n = len(rows)
    out = {"accuracy": correct / n if n else 0.0, "n": n, "correct": correct, "ci95": list(wilson(correct, n)),
           "prompt": rp.to_dict()}
    if keep_outputs:
        out["outputs"] = outputs
    return out


def evaluate_model(model: Any, tokenizer: Any, rows: Sequence[dict], spec: PromptParams | None = None,
                   max_tokens: int = 0, device: str | None = None, **kw: Any) -> dict:
    """:func:`evaluate_policy` for a loaded model and tokenizer."""
    from backend.generation.policy import Policy

    dev = device or str(next(model.parameters()).device)
    return evaluate_policy(Policy(model, tokenizer, dev), rows, eval_prompt(tokenizer, spec, max_tokens), **kw)
