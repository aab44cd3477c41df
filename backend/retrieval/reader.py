"""Answer generation from retrieved documents, and the closed-book (no retrieval) baseline.

The reader is extractive and lexical, so that answer accuracy measures the retrieval it is given
and nothing else: among the k documents it picks the one sharing most content words with the
question, then in it the ``Field: value`` fact whose field name best matches the question and
answers its value; a document without such facts gives its best-matching sentence. The
closed-book baseline is the indexed LM itself, greedily continuing ``Query: ...\\nAnswer:``.
Accuracy: a gold answer equals the prediction (case-insensitive, trimmed).
"""
from __future__ import annotations

import re

from backend.retrieval.beir import Doc

_WORD = re.compile(r"[a-z0-9]+")
_FACT = re.compile(r"([A-Z][A-Za-z ]{1,40}):\s*([^.]+)\.")
_STOP = {"the", "a", "an", "of", "in", "is", "what", "who", "which", "was", "were", "and", "to", "by", "on", "for",
         "at", "it", "its", "how", "did", "does", "do", "with", "from", "as", "that", "this"}


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def read(question: str, docs: list[Doc]) -> str:
    """The answer the documents give to ``question`` ('' when there are none)."""
    q = _words(question)
    best: tuple | None = None
    for rank, doc in enumerate(docs):
        doc_score = len(q & _words(f"{doc.title} {doc.text}"))
        facts = _FACT.findall(doc.text)
        options = [(len(q & _words(f)), v.strip()) for f, v in facts] or \
                  [(len(q & _words(s)), s.strip()) for s in re.split(r"(?<=[.!?])\s+", doc.text) if s.strip()]
        for f_score, value in options:
            key = (doc_score, f_score, -rank)
            if best is None or key > best[0]:
                best = (key, value)
    return "" if best is None else best[1]


def correct(prediction: str, answers: list[str]) -> bool:
    p = prediction.strip().lower()
    return bool(p) and any(p == a.strip().lower() for a in answers)


def closed_book(model, tok, question: str, max_new: int = 16) -> str:
    """The LM's own answer with no document (greedy)."""
    import torch

    ids = tok(f"Query: {question}\nAnswer:", return_tensors="pt")["input_ids"].to(model.device)
    with torch.inference_mode():
        out = model.generate(ids, max_new_tokens=max_new, do_sample=False, pad_token_id=tok.pad_token_id,
                             eos_token_id=tok.eos_token_id)
    text = tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
    return text.split("\n")[0].strip()
