"""Training data and scoring for the two step verifiers: the discriminative PRM and the GenPRM.

Discriminative PRM input: ``Problem: {problem}\\n`` + each step followed by the separator
``\\n``; the label of a step sits on its separator token (Qwen2.5-Math-PRM style, one forward
pass scores every step). Steps are written without their ``Step k: `` prefix (as in the
ProcessBench file); half the training texts keep the prefix so either way of calling scores well.

GenPRM (docs/contracts.md): for step k the verifier restates the claim, writes a snippet that
evaluates the problem's first k operations and compares them with the step's claimed value, reads
the snippet's output and answers `` Yes`` / `` No``.
"""
from __future__ import annotations

import re
import subprocess
import sys
from typing import Any
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from backend.models.zoo.tasks import Problem, apply, step_labels

SEPARATOR = "\n"
PRM_CONFIG: dict[str, Any] = {"style": "token-classification", "prefix_template": "Problem: {problem}\n",
              "step_separator": SEPARATOR, "positive_label": 1}
GENPRM_CONFIG = {"style": "generative", "samples": 1, "temperature": 0.6, "max_new_tokens": 400,
                 "sandbox_timeout": 5.0, "yes_token": " Yes", "no_token": " No", "stop": "</verify>"}
EQ_RE = re.compile(r"^\s*(\d+)\s*([-+*])\s*(\d+)\s*=\s*(-?\d+)\s*$")


# -- synthetic solutions with realistic slips --------------------------------------------------
def corrupted_steps(problem: Problem, rng: np.random.Generator, p_error: float = 0.6) -> list[str]:
    """The problem's steps, with (probability ``p_error``) one slip at a random step (a wrong
    result, reversed digits, a wrong running value or a wrong operator); later steps carry the
    wrong value forward, the way a policy's mistakes propagate."""
    k_err = int(rng.integers(0, len(problem.ops))) if rng.random() < p_error else -1
    v, steps = problem.start, []
    for k, (op, b) in enumerate(problem.ops):
        r = apply(v, op, b)
        if k == k_err:
            kind = rng.random()
            if kind < 0.5:
                delta = int(rng.choice([-10, -2, -1, 1, 2, 10, 20, -20]))
                r = max(0, r + delta) if r + delta != r else r + 1
            elif kind < 0.65:
                r = int(str(r)[::-1]) if len(str(r)) > 1 and str(r)[::-1] != str(r) else r + 1
            elif kind < 0.8:  # copies the wrong running value
                v = max(0, v + int(rng.choice([-1, 1, 10])))
                r = apply(v, op, b)
            else:  # copies the wrong operator, then computes it correctly
                op = str(rng.choice([o for o in "+-*" if o != op]))
                r = apply(v, op, b)
        steps.append(f"{v}{op}{b}={r}")
        v = r
    return steps


# -- discriminative PRM ------------------------------------------------------------------------
def prm_text_items(tok, problem: str, steps: list[str], labels: list[int] | None, with_prefix: bool = False):
    """Token ids of one PRM input and, per step, the index of its separator's last token."""
    ids = tok(PRM_CONFIG["prefix_template"].format(problem=problem))["input_ids"]
    at = []
    for k, s in enumerate(steps, 1):
        text = (f"Step {k}: {s}" if with_prefix else s) + SEPARATOR
        ids = ids + tok(text, add_special_tokens=False)["input_ids"]
        at.append(len(ids) - 1)
    lab = None
    if labels is not None:
        lab = [-100] * len(ids)
        for i, y in zip(at, labels):
            lab[i] = int(y)
    return ids, at, lab


def prm_batches(items: list[tuple[list[int], list[int]]], batch_size: int, pad_id: int, rng):
    def get(step: int) -> dict:
        idx = rng.integers(0, len(items), size=batch_size)
        chunk = [items[int(i)] for i in idx]
        n = max(len(c[0]) for c in chunk)
        x = torch.full((len(chunk), n), pad_id, dtype=torch.long)
        y = torch.full((len(chunk), n), -100, dtype=torch.long)
        m = torch.zeros((len(chunk), n), dtype=torch.long)
        for i, (ids, lab) in enumerate(chunk):
            x[i, :len(ids)] = torch.tensor(ids)
            y[i, :len(ids)] = torch.tensor(lab)
            m[i, :len(ids)] = 1
        return {"input_ids": x, "attention_mask": m, "labels": y}
    return get


@torch.no_grad()
def prm_scores(model, tok, records: list[tuple[str, list[str]]], batch_size: int = 128) -> list[list[float]]:
    """p(correct) for every step of each (problem, steps), one forward pass per solution."""
    out: list[list[float]] = []
    for s in range(0, len(records), batch_size):
        enc = [prm_text_items(tok, p, st, None) for p, st in records[s:s + batch_size]]
        n = max(len(e[0]) for e in enc)
        x = torch.full((len(enc), n), tok.pad_token_id, dtype=torch.long)
        m = torch.zeros((len(enc), n), dtype=torch.long)
        for i, (ids, _, _) in enumerate(enc):
            x[i, :len(ids)] = torch.tensor(ids)
            m[i, :len(ids)] = 1
        probs = torch.softmax(model(input_ids=x, attention_mask=m).logits.float(), -1)[..., 1]
        for i, (_, at, _) in enumerate(enc):
            out.append([float(probs[i, j]) for j in at])
    return out


def roc_auc(scores, labels) -> float:
    """Area under the ROC curve (Mann-Whitney U with tied ranks averaged)."""
    from scipy.stats import rankdata

    s, y = np.asarray(scores, float), np.asarray(labels, int)
    n1, n0 = int(y.sum()), int((1 - y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


# -- GenPRM ------------------------------------------------------------------------------------
def genprm_prompt(problem: str, steps: list[str], k: int) -> str:
    """The contract's verifier prompt for step ``k`` (1-based)."""
    prev = "".join(f"Step {i}: {s}\n" for i, s in enumerate(steps[:k - 1], 1))
    return f"Problem: {problem}\n{prev}Check step {k}: {steps[k - 1]}\n"


def claimed_value(step: str) -> str:
    """What a step text claims as its result: the text after its last ``=``."""
    return step.split("=")[-1].strip()


def genprm_critique(problem: Problem, steps: list[str], k: int) -> str:
    """The analysis and verification snippet the verifier is taught to write for step ``k``.

    The snippet evaluates the problem's first ``k`` operations (a prefix of the problem text, so
    it is a short contiguous copy) and compares the result with the value step ``k`` claims. That
    is the step label except in the rare case where a step lands on the true value after an
    earlier slip; the verdict is trained on the true label. The claim is restated on its own
    (``claims the value 74``, ``claim=74``), never after ``28*3=``: there the verifier's own
    arithmetic wins over the copy and it writes the right value instead of the claimed one.
    An earlier snippet re-derived the whole chain from copies of the problem and every step;
    the 2-layer verifier copied those ~60 characters wrongly about 40% of the time, and its
    verdicts followed the broken output.
    """
    claim = claimed_value(steps[k - 1])
    # a claim Python cannot read as an int literal ("07", "5x") is compared as a string: False
    value = claim if re.fullmatch(r"-?(0|[1-9]\d*)", claim) else repr(claim)
    code = f"claim={value}\nprint({problem.prefix_expr(k)}==claim)"
    return f"<analyze>Step {k} claims the value {claim}.</analyze>\n<verify>\n{code}\n</verify>\n"


def snippet_output(problem: Problem, steps: list[str], k: int) -> str:
    """What the taught snippet prints (tests run it to check)."""
    return str(claimed_value(steps[k - 1]) == str(problem.values()[k - 1]))


def output_block(stdout: str) -> str:
    return f"<output>\n{stdout.strip()[:200]}\n</output>\nVerdict:"


def run_snippet(code: str, timeout: float = 5.0) -> tuple[bool, str]:
    """(ran cleanly, stdout). Uses ``backend.sandbox.run_python`` when present, else an isolated
    ``python -I -S`` subprocess with a timeout."""
    try:
        from backend.sandbox import run_python  # type: ignore
    except ImportError:
        run_python = None  # type: ignore[assignment]  # the subprocess below stands in
    if run_python is not None:
        r = run_python(code, timeout=timeout)
        return r.status == "ok" and r.exit_code == 0, r.stdout
    try:
        p = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode == 0, p.stdout
    except subprocess.TimeoutExpired:
        return False, ""


def run_snippets(codes: list[str], workers: int = 2) -> list[tuple[bool, str]]:
    with ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(run_snippet, codes))


def extract_code(critique: str) -> str:
    m = re.search(r"<verify>\n?(.*?)\n?</verify>", critique, re.S)
    return m.group(1).strip() if m else ""


def genprm_training_text(problem: Problem, steps: list[str], k: int) -> tuple[str, str]:
    """(prompt, completion) for one verifier example; the completion includes the output block
    the system would append and the verdict word computed from the true label."""
    crit = genprm_critique(problem, steps, k)
    out = snippet_output(problem, steps, k)
    label = step_labels(problem, steps)[k - 1]
    return genprm_prompt(problem.text, steps, k), crit + output_block(out) + (" Yes" if label else " No")


def verdict_scores(model, tok, texts: list[str], batch_size: int = 128) -> list[float]:
    """p(" Yes") / (p(" Yes") + p(" No")) for the next token after each text."""
    yes = tok.encode(" Yes", add_special_tokens=False)[0]
    no = tok.encode(" No", add_special_tokens=False)[0]
    out = []
    with torch.no_grad():
        for s in range(0, len(texts), batch_size):
            enc = [tok(t)["input_ids"] for t in texts[s:s + batch_size]]
            n = max(len(e) for e in enc)
            x = torch.full((len(enc), n), tok.pad_token_id, dtype=torch.long)
            m = torch.zeros((len(enc), n), dtype=torch.long)
            for i, e in enumerate(enc):
                x[i, :len(e)] = torch.tensor(e)
                m[i, :len(e)] = 1
            logits = model(input_ids=x, attention_mask=m).logits
            last = m.sum(1) - 1
            lp = torch.log_softmax(logits[torch.arange(len(enc)), last].float(), -1)
            py, pn = lp[:, yes].exp(), lp[:, no].exp()
            out.extend((py / (py + pn)).tolist())
    return out
