"""Splitting a job's work items into shards.

A shard is a contiguous run of item indices (problems, ProcessBench rows...) plus an optional
``part`` (a strategy and budget of a sweep). Contiguous, deterministic and, with ``align``,
cut only at multiples of a job's own batch size: a shard then holds whole batches, so every
batch the model sees is the same whatever the shard count, and so are the figures.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Shard:
    """One unit of work: ``items`` (indices into the job's list) of ``part`` (job-defined)."""

    index: int
    items: tuple[int, ...]
    part: Any = None
    weight: float = field(default=1.0, compare=False)   # share of the job's work, for progress

    def describe(self) -> str:
        span = f"items {self.items[0]}-{self.items[-1]}" if self.items else "no items"
        return f"{span}" + (f" of {self.part}" if self.part is not None else "")


def split_items(n_items: int, shards: int, align: int = 1) -> list[tuple[int, ...]]:
    """``n_items`` indices cut into at most ``shards`` contiguous, near-equal runs whose
    boundaries are multiples of ``align`` (fewer runs when there are not enough aligned blocks)."""
    if n_items <= 0:
        return []
    align = max(1, int(align))
    blocks = -(-n_items // align)
    k = max(1, min(int(shards), blocks))
    out, start = [], 0
    for i in range(k):
        nb = blocks // k + (1 if i < blocks % k else 0)
        end = min(n_items, start + nb * align)
        out.append(tuple(range(start, end)))
        start = end
    return out


def plan_shards(n_items: int, shards: int, parts: list[tuple[Any, float]] | None = None,
                align: int = 1) -> list[Shard]:
    """Shards over ``n_items`` (times every ``(part, cost)`` when given; cost weighs progress)."""
    runs = split_items(n_items, shards, align)
    parts = parts or [(None, 1.0)]
    total = sum(c for _, c in parts) * max(1, n_items)
    out: list[Shard] = []
    for part, cost in parts:
        for items in runs:
            out.append(Shard(len(out), items, part, cost * len(items) / total if total else 0.0))
    return out
