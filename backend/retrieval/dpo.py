"""Relevance-feedback calibration: preference pairs from the retriever's own beams, then DPO.

Feedback (ReAuSE's "reinforced retrieval calibration"; its exact loss is unverified, DPO is our
reading): run constrained search on training queries, label each returned document preferred
when it is judged relevant (``gold``), contains an answer string (``answer``) or either. Pairs are
(preferred, rejected) with every non-preferred beam ranked above the best preferred one (the
ranking mistakes); when no beam is preferred the judged document is the preferred side
(teacher forcing, so the model is not only calibrated on what it already finds).

Loss (Rafailov et al. 2023), with sequence log-probs of the identifier given the query prompt
under the policy and a frozen copy of the indexed model as reference:
``-log sigmoid(beta * ((pi_w - ref_w) - (pi_l - ref_l)))``.
"""
from __future__ import annotations

import copy
import random
from typing import TYPE_CHECKING

from backend.retrieval.beir import Doc, Query
from backend.retrieval.search import beam_search

if TYPE_CHECKING:
    from backend.jobs import JobContext
    from backend.retrieval.index import Index


def is_preferred(doc: Doc, query: Query, relevant: set[str], mode: str) -> bool:
    gold = doc.id in relevant
    ans = any(a.lower() in f"{doc.title} {doc.text}".lower() for a in query.answers)
    return {"gold": gold, "answer": ans, "gold_or_answer": gold or ans}[mode]


def feedback_pairs(index: Index, queries: list[Query], qrels: dict, beams: int, mode: str,
                   ctx: JobContext | None = None) -> tuple[list, dict]:
    """``[(prompt_ids, preferred_tokens, rejected_tokens)]`` and counts of what the feedback saw."""
    from backend.retrieval import model as M

    docs = {d.id: d for d in index.docs}
    tokens = {row["id"]: row["tokens"] for row in index.meta["identifiers"]}
    pairs, stats = [], {"queries": 0, "top1_preferred": 0, "no_preferred_beam": 0}
    for n, q in enumerate(queries):
        relevant = {d for d, s in qrels.get(q.id, {}).items() if s > 0}
        prompt = M.prompt_ids(index.tok, q.text, index.max_query_tokens)
        hits = beam_search(index.model, index.tok, prompt, index.trie, beams).hits
        # constrained beams always name a document; an invalid one would count as not preferred
        labels = [h.doc_id is not None and is_preferred(docs[h.doc_id], q, relevant, mode) for h in hits]
        stats["queries"] += 1
        stats["top1_preferred"] += int(bool(labels) and labels[0])
        if True in labels:
            best = labels.index(True)
            win = hits[best].tokens
            losers = [h.tokens for h, lab in zip(hits[:best], labels[:best]) if not lab]
        else:
            stats["no_preferred_beam"] += 1
            if not relevant:
                continue
            win = tokens[min(relevant)]
            losers = [h.tokens for h in hits[:3]]
        pairs += [(prompt, win, lose) for lose in losers]
        if ctx is not None and n % 10 == 0:
            ctx.progress(n / max(1, len(queries)), f"relevance feedback: query {n}/{len(queries)}")
            ctx.check_cancelled()
    stats["pairs"] = len(pairs)
    return pairs, stats


def _seq_logp(model, batch: list[tuple[list[int], list[int]]], pad: int):
    """Summed log-prob of each target sequence given its prompt (one row per pair side)."""
    import torch

    width = max(len(p) + len(t) for p, t in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    tmask = torch.zeros((len(batch), width), dtype=torch.bool)
    for i, (p, t) in enumerate(batch):
        seq = p + t
        ids[i, : len(seq)] = torch.tensor(seq)
        mask[i, : len(seq)] = 1
        tmask[i, len(p): len(seq)] = True
    ids, mask, tmask = ids.to(model.device), mask.to(model.device), tmask.to(model.device)
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    logp = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return (logp * tmask[:, 1:]).sum(-1)


def dpo_train(model, tok, pairs: list, beta: float, steps: int, lr: float, batch: int, seed: int = 0,
              ctx: JobContext | None = None) -> list[dict]:
    """Train ``model`` in place with DPO against a frozen copy of itself; returns the curve per step."""
    import torch
    import torch.nn.functional as F

    if not pairs:
        return []
    ref = copy.deepcopy(model).eval()
    for prm in ref.parameters():
        prm.requires_grad_(False)
    rng = random.Random(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    curve = []
    pad = tok.pad_token_id
    for step in range(1, steps + 1):
        chosen = [pairs[rng.randrange(len(pairs))] for _ in range(min(batch, len(pairs)))]
        sides = [(p, w) for p, w, _ in chosen] + [(p, loser) for p, _, loser in chosen]
        pol = _seq_logp(model, sides, pad)
        with torch.no_grad():
            rf = _seq_logp(ref, sides, pad)
        n = len(chosen)
        margin = beta * ((pol[:n] - rf[:n]) - (pol[n:] - rf[n:]))
        loss = -F.logsigmoid(margin).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        row = {"step": step, "loss": loss.item(), "reward_margin": (margin.mean() / beta).item(),
               "pair_accuracy": (margin > 0).float().mean().item()}
        curve.append(row)
        if ctx is not None:
            for k in ("loss", "reward_margin", "pair_accuracy"):
                ctx.metric(f"dpo/{k}", row[k], step)
            ctx.progress(step / steps, f"DPO step {step}/{steps}, loss {row['loss']:.3f}")
            ctx.check_cancelled()
    model.eval()
    return curve
