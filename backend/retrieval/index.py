"""Indexing: fine-tune a causal LM so that pseudo-queries of a document generate its identifier.

Pseudo-queries (DSI-style) are the title, every sentence and the whole text of a document, and
(a share ``keyword_share`` of the examples, drawn afresh each time) a random bag of 2-8 of the
document's words in random order with the title's words left out, so the model learns to key on
content rather than on one sentence template; the target is the identifier tokens + EOS, and only
the target tokens carry loss. The index folder
holds ``model/`` (an HF folder), ``corpus.jsonl`` (a copy, for BM25 and the reader) and
``index.json`` (identifiers, their tokens, the loss curve, settings).
"""
from __future__ import annotations

import json
import random
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from backend.retrieval import model as M
from backend.retrieval.beir import Doc, load_corpus
from backend.retrieval.params import IndexParams
from backend.retrieval.trie import Trie
from backend.workspace.atomic import atomic_write_json

if TYPE_CHECKING:
    from backend.jobs import JobContext

_SENT = re.compile(r"(?<=[.!?])\s+")


def identifiers(docs: list[Doc], scheme: str) -> dict[str, str]:
    """Document id -> identifier text. Titles that clash (or are empty) fall back to ``title [id]``."""
    if scheme == "id":
        return {d.id: d.id for d in docs}
    counts: dict[str, int] = {}
    for d in docs:
        counts[d.title] = counts.get(d.title, 0) + 1
    return {d.id: (d.title if d.title and counts[d.title] == 1 else f"{d.title} [{d.id}]".strip()) for d in docs}


def pseudo_queries(doc: Doc) -> list[str]:
    """Title, sentences and full text: the texts that should lead to this document."""
    out = [doc.title] if doc.title else []
    sents = [s.strip() for s in _SENT.split(doc.text) if len(s.strip()) > 3]
    out += sents
    if len(sents) > 1:
        out.append(doc.text)
    return out or [doc.text]


_WORD = re.compile(r"[A-Za-z0-9]+")


def keywords(doc: Doc) -> list[str]:
    """Distinct words of the text, minus the title's words: the material of keyword pseudo-queries."""
    title = {w.lower() for w in _WORD.findall(doc.title)}
    out: list[str] = []
    for w in _WORD.findall(doc.text):
        if w.lower() not in title and w not in out:
            out.append(w)
    return out


def _keyword_query(words: list[str], rng: random.Random) -> str:
    k = rng.randint(min(2, len(words)), min(8, len(words)))
    return " ".join(rng.sample(words, k))


def _batches(examples: list[tuple[list[int], list[int]]], batch: int, rng: random.Random, pad: int,
             pools: Sequence[tuple[list[str], list[int]]] = (), share: float = 0.0, encode=None):
    import torch

    while True:
        chosen = []
        for _ in range(batch):
            if pools and rng.random() < share:
                words, target = pools[rng.randrange(len(pools))]
                chosen.append((encode(_keyword_query(words, rng)), target))
            else:
                chosen.append(examples[rng.randrange(len(examples))])
        width = max(len(p) + len(t) for p, t in chosen)
        ids = torch.full((batch, width), pad, dtype=torch.long)
        labels = torch.full((batch, width), -100, dtype=torch.long)
        mask = torch.zeros((batch, width), dtype=torch.long)
        for i, (p, t) in enumerate(chosen):
            seq = p + t
            ids[i, : len(seq)] = torch.tensor(seq)
            labels[i, len(p): len(seq)] = torch.tensor(t)
            mask[i, : len(seq)] = 1
        yield ids, mask, labels


def target_loss(model, ids, mask, labels):
    """Mean cross-entropy of the identifier tokens (prompt tokens are masked with -100)."""
    return model(input_ids=ids, attention_mask=mask, labels=labels).loss


def build_index(corpus: str | Path, out: str | Path, p: IndexParams, ctx: JobContext | None = None,
                device: str = "cpu") -> dict:
    """Train and write the index folder; returns a summary (docs, steps, final loss, seconds)."""
    import torch

    t0 = time.perf_counter()
    docs = load_corpus(corpus)
    out = Path(out)
    ident = identifiers(docs, p.identifier)
    model, tok = M.load(p.model, hidden=p.hidden, seed=p.seed)
    model.to(device)
    limit = min(p.max_query_tokens, M.max_positions(model) - 64)
    trie = Trie()
    targets: dict[str, list[int]] = {}
    for d in docs:
        targets[d.id] = M.identifier_ids(tok, ident[d.id])
        trie.add(targets[d.id], d.id)          # refuses identifiers that tokenise identically
    longest = max(len(t) for t in targets.values())
    if limit + longest > M.max_positions(model):
        raise ValueError(f"identifiers of up to {longest} tokens do not fit the model's "
                         f"{M.max_positions(model)} positions")
    examples = [(M.prompt_ids(tok, q, limit), targets[d.id]) for d in docs for q in pseudo_queries(d)]
    rng = random.Random(p.seed)
    torch.manual_seed(p.seed)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=p.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, p.steps // 10)))
    pools = [(w, targets[d.id]) for d in docs if (w := keywords(d))]
    batches = _batches(examples, p.batch, rng, tok.pad_token_id, pools, p.keyword_share,
                       lambda q: M.prompt_ids(tok, q, limit))
    curve: list[tuple[int, float]] = []
    for step in range(1, p.steps + 1):
        ids, mask, labels = (t.to(model.device) for t in next(batches))
        loss = target_loss(model, ids, mask, labels)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step == 1 or step % 10 == 0 or step == p.steps:
            lv = loss.item()
            curve.append((step, lv))
            if ctx is not None:
                ctx.metric("index/loss", lv, step)
                ctx.progress(step / p.steps, f"indexing: step {step}/{p.steps}, loss {lv:.3f}")
                ctx.check_cancelled()
    model.eval()
    model.to("cpu")
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    M.save(model, tok, tmp / "model")
    shutil.copyfile(corpus, tmp / "corpus.jsonl")
    summary = {"docs": len(docs), "pseudo_queries": len(examples), "steps": p.steps,
               "final_loss": curve[-1][1], "seconds": round(time.perf_counter() - t0, 2),
               "trie_depth": trie.depth(), "model_source": p.model}
    atomic_write_json(tmp / "index.json", {
        "version": 1, "params": p.to_dict(), "summary": summary, "loss_curve": curve,
        "identifiers": [{"id": d.id, "identifier": ident[d.id], "tokens": targets[d.id]} for d in docs]})
    if out.exists():
        if not (out / "index.json").is_file():
            shutil.rmtree(tmp)
            raise ValueError(f"{out}: exists and is not a retrieval index; refusing to overwrite it")
        shutil.rmtree(out)
    tmp.rename(out)
    return {"out": str(out), **summary}


@dataclass
class Index:
    """A loaded index: model, tokenizer, trie, documents and identifiers."""

    folder: Path
    model: object
    tok: object
    trie: Trie
    docs: list[Doc]
    ident: dict[str, str]
    meta: dict

    @property
    def max_query_tokens(self) -> int:
        return min(int(self.meta["params"]["max_query_tokens"]), M.max_positions(self.model) - 64)


def load_index(folder: str | Path, device: str = "cpu") -> Index:
    """Open an index folder written by :func:`build_index` (one clear line when it is not one)."""
    folder = Path(folder)
    meta_path = folder / "index.json"
    if not meta_path.is_file():
        raise ValueError(f"{folder}: not a retrieval index (no index.json); build one with `retrieval index`")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    docs = load_corpus(folder / "corpus.jsonl")
    model, tok = M.load(str(folder / "model"))
    model.to(device).eval()
    trie = Trie()
    for row in meta["identifiers"]:
        trie.add(row["tokens"], row["id"])
    return Index(folder, model, tok, trie, docs, {r["id"]: r["identifier"] for r in meta["identifiers"]}, meta)
