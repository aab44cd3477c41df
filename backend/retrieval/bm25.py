"""The lexical baseline: Okapi BM25 from the ``bm25s`` library, at its defaults.

Documents are indexed as ``title + text``; tokenisation is bm25s' own (lower-case words, English
stop words removed, no stemming); scoring is bm25s' default (``lucene`` variant, k1=1.5, b=0.75).
Nothing here is tuned for or against the generative retriever.
"""
from __future__ import annotations

from backend.retrieval.beir import Doc


class BM25:
    """A bm25s retriever over a list of documents, returning document ids and scores."""

    def __init__(self, docs: list[Doc], k1: float = 1.5, b: float = 0.75) -> None:
        import bm25s

        self._bm25s = bm25s
        self.ids = [d.id for d in docs]
        corpus = [f"{d.title} {d.text}".strip() for d in docs]
        self.retriever = bm25s.BM25(k1=k1, b=b)
        self.retriever.index(bm25s.tokenize(corpus, stopwords="en", show_progress=False), show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        k = min(k, len(self.ids))
        tokens = self._bm25s.tokenize([query], stopwords="en", show_progress=False)
        if not tokens.vocab:             # every word a stop word: nothing can match
            return []
        docs, scores = self.retriever.retrieve(tokens, k=k, show_progress=False)
        return [(self.ids[int(i)], float(s)) for i, s in zip(docs[0], scores[0]) if float(s) > 0.0]
