"""A token trie over document identifiers: what constrained decoding may emit next.

Each identifier is stored as its token ids followed by EOS, so a beam can only stop at the end of
a whole identifier, and every finished beam spells exactly one document.
"""
from __future__ import annotations

from collections.abc import Sequence


class Trie:
    """Token-id prefix tree mapping complete sequences to a document id."""

    def __init__(self) -> None:
        self.root: dict = {}
        self.size = 0
        self._depth = 0

    def add(self, tokens: Sequence[int], doc_id: str) -> None:
        node = self.root
        for t in tokens:
            node = node.setdefault(int(t), {})
        if None in node:
            raise ValueError(f"two documents have the same identifier tokens ({node[None]!r} and {doc_id!r})")
        node[None] = doc_id
        self.size += 1
        self._depth = max(self._depth, len(tokens))

    def node(self, prefix: Sequence[int]) -> dict | None:
        node: dict = self.root
        for t in prefix:
            child = node.get(int(t))
            if child is None:
                return None
            node = child
        return node

    def allowed(self, prefix: Sequence[int]) -> list[int]:
        """Tokens that may follow ``prefix`` (empty when the prefix leaves the trie or is complete)."""
        node = self.node(prefix)
        return [] if node is None else [t for t in node if t is not None]

    def lookup(self, tokens: Sequence[int]) -> str | None:
        """The document id spelled by ``tokens`` (identifier + EOS), or None when it is not one."""
        node = self.node(tokens)
        return None if node is None else node.get(None)

    def depth(self) -> int:
        """Length of the longest stored sequence (kept up to date by :meth:`add`, read per search)."""
        return self._depth
