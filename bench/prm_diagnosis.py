"""What the zoo PRM misses, by kind of error, against the base LM's own surprise.

    python bench/prm_diagnosis.py [--zoo DIR] [--prm NAME] [--lm NAME]

Reads the zoo's ProcessBench file (the policy's own held-out samples with the earliest wrong
step), rebuilds every step's true label, sorts each first error into a kind (arithmetic slip,
wrong operator, wrong operand, wrong running value, malformed) and prints the PRM's ROC AUC of
each kind against the correct steps. The last line scores the same steps with the LM instead
(lowest log-probability of a result digit, carried forward as a running minimum): an upper bound
on what the model's body knows, used in docs/zoo.md to show why a token-classification head on
a 2-layer body stays near chance on arithmetic slips.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402


def step_kind(step: str, ref: str) -> str:
    """The kind of a wrong step, against the reference step text."""
    from backend.models.zoo.verifiers import EQ_RE

    m, r = EQ_RE.match(step), EQ_RE.match(ref)
    if not m:
        return "malformed"
    a, op, b, _ = m.groups()
    ra, rop, rb, _ = r.groups()
    return "wrong running value" if a != ra else "wrong operator" if op != rop else \
        "wrong operand" if b != rb else "arithmetic slip"


@torch.no_grad()
def surprise_scores(lm, tok, problem: str, steps: list[str]) -> list[float]:
    """Running minimum over steps of the lowest log-probability the LM gives a result digit."""
    ids, spans = tok(f"Problem: {problem}\n")["input_ids"], []
    for k, s in enumerate(steps, 1):
        left, _, claim = s.rpartition("=")
        ids = ids + tok(f"Step {k}: {left}=", add_special_tokens=False)["input_ids"]
        start = len(ids)
        ids = ids + tok(f"{claim}\n", add_special_tokens=False)["input_ids"]
        spans.append((start, len(ids)))
    lp = torch.log_softmax(lm(input_ids=torch.tensor([ids])).logits[0].float(), -1)
    out, cur = [], 0.0
    for a, b in spans:
        cur = min(cur, min(float(lp[j - 1, ids[j]]) for j in range(a, b)))
        out.append(cur)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", help="zoo folder (default: the workspace's demo zoo or $BENCHTOP_ZOO)")
    ap.add_argument("--prm", default="arith-prm")
    ap.add_argument("--lm", default="arith-base")
    args = ap.parse_args(argv)

    from transformers import AutoModelForCausalLM, AutoModelForTokenClassification, AutoTokenizer

    from backend.models.zoo.verifiers import prm_scores, roc_auc
    from backend.tts.scoring import parse_chain

    from _common import demo_zoo

    zoo = demo_zoo(args.zoo)
    torch.set_num_threads(2)
    tok = AutoTokenizer.from_pretrained(zoo / args.prm)
    prm = AutoModelForTokenClassification.from_pretrained(zoo / args.prm).eval()
    lm = AutoModelForCausalLM.from_pretrained(zoo / args.lm).eval()
    rows = [json.loads(line) for line in (zoo / "data" / "processbench.jsonl").read_text().splitlines() if line]
    scores = prm_scores(prm, tok, [(r["problem"], r["steps"]) for r in rows])
    correct, wrong, all_s, all_y, lm_s = [], defaultdict(list), [], [], []
    for r, sc in zip(rows, scores):
        start, ops = parse_chain(r["problem"])
        refs, v = [], start
        for op, b in ops:
            nv = v + b if op == "+" else v - b if op == "-" else v * b
            refs.append(f"{v}{op}{b}={nv}")
            v = nv
        first = r["label"] if r["label"] >= 0 else len(r["steps"])
        labels = [int(i < first) for i in range(len(r["steps"]))]
        all_s += sc
        all_y += labels
        lm_s += surprise_scores(lm, tok, r["problem"], r["steps"])
        correct += sc[:first]
        if first < len(r["steps"]):
            kind = step_kind(r["steps"][first], refs[first]) if first < len(refs) else "extra step"
            wrong[kind].append(sc[first])
            wrong["after the first error"] += sc[first + 1:]
    print(f"zoo {zoo}: {len(rows)} solutions, {len(all_y)} steps, {sum(all_y)} correct")
    print(f"{'first error kind':24s} {'n':>5s}  PRM AUC vs correct steps")
    for kind, vals in sorted(wrong.items(), key=lambda kv: -len(kv[1])):
        auc = roc_auc(correct + vals, [1] * len(correct) + [0] * len(vals))
        print(f"{kind:24s} {len(vals):5d}  {auc:.3f}")
    print(f"{'all steps':24s} {len(all_y):5d}  PRM {roc_auc(all_s, all_y):.3f}   "
          f"{args.lm} surprise {roc_auc(lm_s, all_y):.3f}")
    return 0


if __name__ == "__main__":
    from _common import run

    run(main)
