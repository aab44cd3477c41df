"""Generative retrieval (ReAuSE-style): a causal LM that emits document identifiers.

Indexing fine-tunes a causal LM on pseudo-queries (title and sentences of each document) ->
identifier; search is beam search constrained by a token trie of the identifiers, so every
output names a real document; relevance feedback builds preference pairs for DPO calibration.
BM25 (``bm25s``) is the lexical baseline. See docs/retrieval.md.
"""
