"""Seeded token choice that does not depend on which other rows share the batch.

Why not ``torch.multinomial`` with one generator for the batch: the token drawn for row *i*
would then depend on how many rows came before it, so a sample changes when the batch size or
the order of prompts changes. Here every row owns a ``torch.Generator`` seeded from its own
seed and draws exactly one uniform number per generated token; the token is found by inverting
the (temperature-scaled, top-p-filtered) CDF. A sample is thus a function of (prompt, seed,
settings) alone, whatever the batching.
"""
from __future__ import annotations

import hashlib
import struct

import torch


def derive_seed(*parts: int | str) -> int:
    """A 63-bit seed from a tuple (run seed, problem index, strategy, iteration, sample...).

    Hash-based, so seeds of different (problem, sample) pairs are unrelated and adding a sample
    never shifts the seeds of the others.
    """
    h = hashlib.blake2b(digest_size=8)
    for p in parts:
        h.update(str(p).encode("utf-8"))
        h.update(b"\x00")
    return struct.unpack("<Q", h.digest())[0] & ((1 << 63) - 1)


def row_generators(seeds: list[int]) -> list[torch.Generator]:
    """One CPU generator per row (CPU so the stream is identical on every device)."""
    return [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]


def draw_uniforms(gens: list[torch.Generator], rows: list[int]) -> torch.Tensor:
    """One U(0,1) per listed row, each from that row's own generator."""
    return torch.stack([torch.rand((), generator=gens[r], dtype=torch.float64) for r in rows])


def choose_tokens(logits: torch.Tensor, temperature: float, top_p: float,
                  uniforms: torch.Tensor | None) -> torch.Tensor:
    """Token ids (B,) from logits (B, V): greedy at temperature 0, else inverse-CDF sampling.

    Top-p keeps the smallest set of most likely tokens whose mass reaches ``top_p`` (the most
    likely token is always kept). Computed in float64 on the CPU so the choice is the same on
    every device for the same logits.
    """
    if temperature <= 0:
        return logits.argmax(-1)
    if uniforms is None:
        raise ValueError("sampling at temperature > 0 needs one uniform number per row")
    probs = torch.softmax(logits.detach().to("cpu", torch.float64) / temperature, dim=-1)
    sorted_p, order = probs.sort(dim=-1, descending=True, stable=True)
    if top_p < 1.0:
        keep = (sorted_p.cumsum(-1) - sorted_p) < top_p
        sorted_p = sorted_p * keep
    cdf = sorted_p.cumsum(-1)
    cdf = cdf / cdf[:, -1:]
    idx = (cdf < uniforms.to(torch.float64)[:, None]).sum(-1)
    idx = torch.minimum(idx, (sorted_p > 0).sum(-1) - 1)  # rounding never picks a filtered token
    return order.gather(1, idx[:, None]).squeeze(1).to(logits.device)
