"""Batched, seeded generation from a Hugging Face causal LM, whole answers or one step at a time.

Why a hand-written loop rather than ``model.generate``: every row needs its own seed (see
:mod:`backend.generation.sampling`), tree search needs to stop a row at the step delimiter
while the others go on, and test-time scaling is judged per generated token, so every token
is counted here.

Prefix sharing: rows whose prompt is identical (the N samples of Best-of-N, the M expansions of
one beam) are prefilled once and their KV cache is copied to the other rows
(``share_prefix=True``). Rows that finish are dropped from the batch, so a step-wise call costs
what its longest step costs, not ``batch x max_new_tokens``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from backend.generation.sampling import choose_tokens, draw_uniforms, row_generators


@dataclass
class SamplingParams:
    """How to sample. ``temperature`` 0 is greedy; ``stop_at_delimiter`` ends a row right after
    the token that completes ``delimiter`` in its text (one reasoning step; a delimiter spread over
    several tokens, ``\n`` then ``\n``, counts); a row also ends at any of the ``stop`` strings."""

    temperature: float = 0.8
    top_p: float = 1.0
    max_new_tokens: int = 96
    stop_at_delimiter: bool = False
    delimiter: str = "\n"
    stop: tuple[str, ...] = ()


@dataclass
class Completion:
    """One row's output: its text (special tokens dropped, delimiter kept), the number of tokens
    generated (EOS and delimiter included) and why it stopped: ``eos``, ``step``, ``stop`` (a stop
    string; the text ends with it) or ``length``."""

    text: str
    tokens: int
    finish: str


@dataclass
class GenerationStats:
    """Running totals over every ``generate`` call of a :class:`Policy` (for budgets and benches)."""

    calls: int = 0
    rows: int = 0
    prompt_tokens: int = 0      # prompt tokens of all rows (what a non-sharing prefill would compute)
    prefill_tokens: int = 0     # prompt tokens actually run through the model (after sharing)
    generated_tokens: int = 0
    prefill_seconds: float = 0.0
    decode_seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "extra"}


def _resolve_dtype(dtype: str | torch.dtype | None, device: str) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        return torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32
    table = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float16": torch.float16, "fp16": torch.float16}
    if dtype not in table:
        raise ValueError(f"unknown dtype {dtype!r}; use auto, float32, bfloat16 or float16")
    return table[dtype]


def resolve_model_path(name: str | Path) -> Path:
    """A model folder, or ``zoo:NAME`` resolved through the demo zoo (error names the model)."""
    from backend.models.tensors import resolve_model

    return resolve_model(name)


def _cache_of(output):  # noqa: ANN001 - a ModelOutput
    """The KV cache of a forward's output (``cache`` in transformers 5, ``past_key_values`` before)."""
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values


class Policy:
    """A causal LM, its tokenizer and its device; generation statistics accumulate in ``stats``."""

    def __init__(self, model, tokenizer, device: str = "cpu") -> None:  # noqa: ANN001 - HF objects
        from backend.generation.prompting import has_chat_template, pad_id, stop_ids

        # every eos id of the tokenizer and of generation_config, plus chat end-of-turn tokens
        self.eos_ids = stop_ids(tokenizer, getattr(model, "generation_config", None), has_chat_template(tokenizer))
        if not self.eos_ids:
            raise ValueError("the policy has no eos token (tokenizer or generation_config); generation could "
                             "never stop")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = device
        self.pad_id = pad_id(tokenizer, self.eos_ids)
        self.stats = GenerationStats()
        self._delim_ids: dict[str, set[int]] = {}
        self._encoded: dict[str, list[int]] = {}
        self.max_positions = int(getattr(model.config, "max_position_embeddings", 0) or 1 << 30)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", dtype: str | torch.dtype | None = "auto") -> "Policy":
        """Load a policy folder (or ``zoo:NAME``) onto ``device`` in ``dtype`` (auto: bf16 on CUDA, else fp32)."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder = resolve_model_path(path)
        tok = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=_resolve_dtype(dtype, device)).to(device)
        return cls(model, tok, device)

    # -- helpers ------------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        ids = self._encoded.get(text)
        if ids is None:
            from backend.generation.prompting import encode_prompt

            ids = encode_prompt(self.tokenizer, text)
            if len(self._encoded) < 100_000:
                self._encoded[text] = ids
        return ids

    def delimiter_ids(self, delimiter: str) -> set[int]:
        """Ids of every vocabulary token whose text contains the last character of ``delimiter``:
        the only tokens that can complete it (cached)."""
        if delimiter not in self._delim_ids:
            tok = self.tokenizer
            ids = {i for i in range(len(tok)) if delimiter[-1] in tok.decode([i])}
            self._delim_ids[delimiter] = ids - self.eos_ids
        return self._delim_ids[delimiter]

    def _ends_with(self, tokens: list[int], text: str) -> bool:
        """Whether ``text`` occurs in the decoded tail of ``tokens`` that includes the last token."""
        tail = tokens[-(len(text) + 4):]
        return text in self.tokenizer.decode(tail, skip_special_tokens=True)

    # -- generation ---------------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self,
        prompts: list[str],
        seeds: list[int],
        params: SamplingParams,
        *,
        batch_size: int = 64,
        share_prefix: bool = True,
        should_stop: Callable[[], None] | None = None,
    ) -> list[Completion]:
        """One completion per (prompt, seed) row, in order; a row's output depends only on its
        prompt, its seed and ``params`` (not on the batch it shares)."""
        if len(prompts) != len(seeds):
            raise ValueError(f"{len(prompts)} prompts but {len(seeds)} seeds")
        out: list[Completion] = []
        for s in range(0, len(prompts), max(1, batch_size)):
            out += self._generate_chunk(prompts[s:s + batch_size], seeds[s:s + batch_size], params, share_prefix,
                                        should_stop)
        return out

    def _generate_chunk(self, prompts, seeds, params, share_prefix, should_stop) -> list[Completion]:  # noqa: ANN001
        dev = self.device
        rows = len(prompts)
        encoded = [self.encode(p) for p in prompts]
        if share_prefix:
            uniq: dict[str, int] = {}
            index = [uniq.setdefault(p, len(uniq)) for p in prompts]
            first = {i: encoded[r] for r, i in reversed(list(enumerate(index)))}
            prefill = [first[i] for i in range(len(uniq))]
        else:
            index = list(range(rows))
            prefill = encoded
        width = max(len(e) for e in prefill)
        ids = torch.full((len(prefill), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(prefill), width), dtype=torch.long)
        for i, e in enumerate(prefill):
            ids[i, width - len(e):] = torch.tensor(e, dtype=torch.long)
            mask[i, width - len(e):] = 1
        ids, mask = ids.to(dev), mask.to(dev)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        t0 = time.perf_counter()
        res = self.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, logits_to_keep=1)
        cache, logits = _cache_of(res), res.logits[:, -1, :]
        if share_prefix and len(prefill) != rows:
            sel = torch.tensor(index, dtype=torch.long, device=dev)
            cache.reorder_cache(sel)
            logits, mask, pos = logits[sel], mask[sel], pos[sel]
        t1 = time.perf_counter()

        prompt_lens = [len(e) for e in encoded]
        limit = min(params.max_new_tokens, max(0, self.max_positions - width))
        step_ids = self.delimiter_ids(params.delimiter) if params.stop_at_delimiter else set()
        eos = self.eos_ids
        stops = tuple(s for s in params.stop if s)
        gens = row_generators(seeds) if params.temperature > 0 else []
        new_tokens: list[list[int]] = [[] for _ in range(rows)]
        finish = ["length"] * rows
        active = list(range(rows))              # original row of each batch row
        next_pos = pos[:, -1:] + 1
        for t in range(limit):
            if should_stop is not None and t % 8 == 0:
                should_stop()
            u = draw_uniforms(gens, active) if gens else None
            tokens = choose_tokens(logits.float(), params.temperature, params.top_p, u).tolist()
            keep = []
            for b, (r, tok_id) in enumerate(zip(active, tokens)):
                new_tokens[r].append(tok_id)
                if tok_id in eos:
                    finish[r] = "eos"
                elif tok_id in step_ids and self._ends_with(new_tokens[r], params.delimiter):
                    finish[r] = "step"
                elif stops and any(self._ends_with(new_tokens[r], s) for s in stops):
                    finish[r] = "stop"
                else:
                    keep.append(b)
            if not keep or t == limit - 1:
                break
            fed = torch.tensor(tokens, dtype=torch.long, device=dev)[:, None]
            if len(keep) != len(active):
                sel = torch.tensor(keep, dtype=torch.long, device=dev)
                cache.batch_select_indices(sel)
                mask, next_pos, fed = mask[sel], next_pos[sel], fed[sel]
                active = [active[b] for b in keep]
            mask = torch.cat([mask, torch.ones((len(active), 1), dtype=torch.long, device=dev)], dim=1)
            res = self.model(input_ids=fed, attention_mask=mask, position_ids=next_pos,
                             cache=cache, use_cache=True)
            cache, logits = _cache_of(res), res.logits[:, -1, :]
            next_pos = next_pos + 1
        t2 = time.perf_counter()

        st = self.stats
        st.calls += 1
        st.rows += rows
        st.prompt_tokens += sum(prompt_lens)
        st.prefill_tokens += sum(len(e) for e in prefill)
        st.generated_tokens += sum(len(n) for n in new_tokens)
        st.prefill_seconds += t1 - t0
        st.decode_seconds += t2 - t1
        from backend.generation.prompting import cut_at_stop

        texts = [self.tokenizer.decode(n, skip_special_tokens=True) for n in new_tokens]
        if stops:
            texts = [cut_at_stop(t, stops)[0] if f == "stop" else t for t, f in zip(texts, finish)]
        return [Completion(t, len(n), f) for t, n, f in zip(texts, new_tokens, finish)]
