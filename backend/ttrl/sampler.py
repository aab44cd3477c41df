"""Batched, seeded sampling of N continuations per prompt from a Hugging Face causal LM.

Why not ``model.generate``: it draws from torch's *global* RNG, so evaluation sampling would
shift the training rollouts (and ground truth would then change the trained weights through
the random stream). Here every call takes its own ``torch.Generator``; a run is reproducible
from (seed, step) alone, which is also what makes resume exact.

All prompts of a call share one left-padded batch with a KV cache: the N copies of a prompt
sit next to each other (group ``g`` is rows ``g*N .. g*N+N-1``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass
class Rollouts:
    """Sampled sequences of one batch.

    ``sequences`` is (B, P+T): left-padded prompt then response; ``prompt_mask`` (B, P) marks
    real prompt tokens; ``response_mask`` (B, T) marks response tokens up to and including EOS.
    """

    sequences: torch.Tensor
    prompt_mask: torch.Tensor
    response_mask: torch.Tensor
    texts: list[str]
    group_size: int

    @property
    def prompt_len(self) -> int:
        return int(self.prompt_mask.shape[1])

    def select(self, rows: list[int]) -> "Rollouts":
        idx = torch.tensor(rows, dtype=torch.long)
        return Rollouts(self.sequences[idx], self.prompt_mask[idx], self.response_mask[idx],
                        [self.texts[i] for i in rows], self.group_size)


def concat(parts: list[Rollouts], pad_id: int) -> Rollouts:
    """One batch of several sampled batches (in order): prompts left-padded and responses
    right-padded to the widest part with ``pad_id`` under zero masks, so every row keeps its
    tokens, positions and masks. A single part is returned as it is."""
    if len(parts) == 1:
        return parts[0]
    if len({r.group_size for r in parts}) != 1:
        raise ValueError("cannot join rollouts of different group sizes")
    width = max(r.prompt_len for r in parts)
    length = max(int(r.response_mask.shape[1]) for r in parts)
    seqs, pmasks, rmasks = [], [], []
    for r in parts:
        rows, p, t = r.sequences.shape[0], r.prompt_len, int(r.response_mask.shape[1])
        left = torch.full((rows, width - p), pad_id, dtype=r.sequences.dtype)
        right = torch.full((rows, length - t), pad_id, dtype=r.sequences.dtype)
        seqs.append(torch.cat([left, r.sequences[:, :p], r.sequences[:, p:], right], dim=1))
        pmasks.append(torch.cat([torch.zeros(rows, width - p, dtype=r.prompt_mask.dtype), r.prompt_mask], dim=1))
        rmasks.append(torch.cat([r.response_mask, torch.zeros(rows, length - t, dtype=r.response_mask.dtype)], dim=1))
    return Rollouts(torch.cat(seqs), torch.cat(pmasks), torch.cat(rmasks), [x for r in parts for x in r.texts],
                    parts[0].group_size)


def _filter_top_p(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    if top_p >= 1.0:
        return probs
    sorted_p, order = probs.sort(dim=-1, descending=True)
    keep = sorted_p.cumsum(-1) - sorted_p < top_p  # always keeps the most likely token
    sorted_p = sorted_p * keep
    filtered = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return filtered / filtered.sum(-1, keepdim=True)


def _positions(mask: torch.Tensor) -> torch.Tensor:
    return (mask.long().cumsum(-1) - 1).clamp(min=0)


@torch.no_grad()
def sample(
    model,
    tokenizer,
    prompts: list[str],
    n: int,
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
    device: str = "cpu",
    should_stop: Callable[[], None] | None = None,
    eos_ids: set[int] | None = None,
) -> Rollouts:
    """Sample ``n`` continuations of each prompt (temperature 0 = greedy).

    ``should_stop`` is called every few tokens; it may raise (e.g. JobCancelled) to stop. A row
    ends at any of ``eos_ids`` (default: every eos id of the tokenizer and ``generation_config``,
    plus chat end-of-turn tokens; ``backend.generation.prompting.stop_ids``).
    The model is used as is (call ``model.eval()`` first); nothing in it is changed.
    """
    from backend.generation.prompting import encode_prompt, has_chat_template, stop_ids
    from backend.generation.prompting import pad_id as _pad

    eos = set(eos_ids) if eos_ids else stop_ids(tokenizer, getattr(model, "generation_config", None),
                                                has_chat_template(tokenizer))
    if not eos:
        raise ValueError("the policy has no eos token (tokenizer or generation_config); sampling could never stop")
    pad_id = _pad(tokenizer, eos)
    eos_t = torch.tensor(sorted(eos), dtype=torch.long, device=device)
    encoded = [encode_prompt(tokenizer, p) for p in prompts]
    width = max(len(e) for e in encoded)
    rows, masks = [], []
    for ids in encoded:
        for _ in range(n):
            rows.append([pad_id] * (width - len(ids)) + list(ids))
            masks.append([0] * (width - len(ids)) + [1] * len(ids))
    input_ids = torch.tensor(rows, dtype=torch.long, device=device)
    prompt_mask = torch.tensor(masks, dtype=torch.long, device=device)
    batch = input_ids.shape[0]
    attention = prompt_mask.clone()
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    out_tokens = []
    out_mask = []
    out = model(input_ids=input_ids, attention_mask=attention, position_ids=_positions(attention), use_cache=True,
                logits_to_keep=1)
    cache = out.cache
    logits = out.logits[:, -1, :].float()
    next_pos = _positions(attention)[:, -1:] + 1
    for t in range(max_new_tokens):
        if should_stop is not None and t % 8 == 0:
            should_stop()
        if temperature == 0:
            token = logits.argmax(-1)
        else:
            probs = _filter_top_p(torch.softmax(logits / temperature, dim=-1), top_p)
            token = torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(-1).to(device)
        token = torch.where(finished, torch.full_like(token, pad_id), token)
        out_mask.append((~finished).long())
        out_tokens.append(token)
        finished = finished | torch.isin(token, eos_t)
        if bool(finished.all()) or t == max_new_tokens - 1:
            break
        attention = torch.cat([attention, torch.ones(batch, 1, dtype=torch.long, device=device)], dim=1)
        out = model(input_ids=token[:, None], attention_mask=attention, position_ids=next_pos,
                    cache=cache, use_cache=True)
        cache = out.cache
        logits = out.logits[:, -1, :].float()
        next_pos = next_pos + 1
    response = torch.stack(out_tokens, dim=1)
    response_mask = torch.stack(out_mask, dim=1)
    texts = [tokenizer.decode(r[m.bool()].tolist(), skip_special_tokens=True)
             for r, m in zip(response.cpu(), response_mask.cpu())]
    return Rollouts(torch.cat([input_ids, response], dim=1).cpu(), prompt_mask.cpu(), response_mask.cpu(), texts, n)
