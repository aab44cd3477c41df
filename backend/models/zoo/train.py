"""Plain torch training loops and batched generation for the zoo's tiny models (CPU-sized).

Causal LMs are trained on (prompt, completion) pairs with the loss on the completion only (the
prompt is context), or on whole texts for pretraining (empty prompt). The PRM is trained as token
classification with labels only at step separators. Seeds are set by the caller.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import numpy as np
import torch

IGNORE = -100


def encode_pairs(tok, pairs: Sequence[tuple[str, str]], add_eos: bool = True) -> list[tuple[list[int], int]]:
    """Token ids of prompt+completion (BOS first, EOS last) and the index where the completion starts.

    Pretraining texts go in as ``("", text)`` so every token after BOS is a target."""
    out = []
    for prompt, completion in pairs:
        p = tok(prompt)["input_ids"]
        c = tok(completion, add_special_tokens=False)["input_ids"] if completion else []
        ids = p + c + ([tok.eos_token_id] if add_eos else [])
        out.append((ids, len(p)))
    return out


def _lm_batch(items: list[tuple[list[int], int]], pad_id: int):
    n = max(len(ids) for ids, _ in items)
    x = torch.full((len(items), n), pad_id, dtype=torch.long)
    y = torch.full((len(items), n), IGNORE, dtype=torch.long)
    m = torch.zeros((len(items), n), dtype=torch.long)
    for i, (ids, start) in enumerate(items):
        t = torch.tensor(ids, dtype=torch.long)
        x[i, :len(ids)] = t
        m[i, :len(ids)] = 1
        y[i, start:len(ids)] = t[start:]
    return x, m, y


def train_loop(model, batches: Callable[[int], dict], steps: int, lr: float, warmup: int = 20,
               weight_decay: float = 0.0, on_step: Callable[[int, float], None] | None = None,
               cancel: Callable[[], None] | None = None,
               stop: Callable[[int], bool] | None = None) -> dict:
    """AdamW with linear warmup and cosine decay to 10%; ``batches(step)`` gives model kwargs
    (with ``labels``). ``stop(step)`` (called after each step) may end training early. Returns the
    final smoothed loss, the steps taken and the wall time."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=(0.9, 0.98))
    model.train()
    t0 = time.perf_counter()
    ema = None
    for step in range(steps):
        if cancel is not None and step % 10 == 0:
            cancel()
        f = min(1.0, (step + 1) / max(1, warmup))
        f *= 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / max(1, steps)))
        for g in opt.param_groups:
            g["lr"] = lr * f
        loss = model(**batches(step)).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if on_step is not None:
            on_step(step, ema)
        if stop is not None and stop(step + 1):
            steps = step + 1
            break
    model.eval()
    return {"loss": float(ema or 0.0), "seconds": round(time.perf_counter() - t0, 2), "steps": steps}


def lm_batches(tok, items: list[tuple[list[int], int]], batch_size: int, rng: np.random.Generator):
    """A ``batches(step)`` callable drawing random minibatches of encoded LM items."""
    def get(step: int) -> dict:
        idx = rng.integers(0, len(items), size=batch_size)
        x, m, y = _lm_batch([items[int(i)] for i in idx], tok.pad_token_id)
        return {"input_ids": x, "attention_mask": m, "labels": y}
    return get


def _cache_of(out):
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


@torch.no_grad()
def generate(model, tok, prompts: Sequence[str], max_new_tokens: int, temperature: float = 0.0,
             num_samples: int = 1, batch_size: int = 256, seed: int = 0,
             stop_ids: Sequence[int] = ()) -> list[list[str]]:
    """Completions (decoded, special tokens dropped) for each prompt: ``num_samples`` each,
    greedy when ``temperature`` is 0. Left-padded batches; a manual KV-cached loop so sampling is
    seeded with our own generator (reproducible) and stops at EOS or any of ``stop_ids``."""
    import inspect

    model.eval()
    # transformers 5.x renamed past_key_values -> cache; accept either
    cache_kw = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    gen = torch.Generator().manual_seed(seed)
    stops = torch.tensor([tok.eos_token_id, *stop_ids])
    flat = [p for p in prompts for _ in range(num_samples)]
    texts: list[str] = []
    for s in range(0, len(flat), batch_size):
        chunk = [tok(p)["input_ids"] for p in flat[s:s + batch_size]]
        n = max(len(c) for c in chunk)
        x = torch.full((len(chunk), n), tok.pad_token_id, dtype=torch.long)
        m = torch.zeros((len(chunk), n), dtype=torch.long)
        for i, c in enumerate(chunk):
            x[i, n - len(c):] = torch.tensor(c)
            m[i, n - len(c):] = 1
        pos = (m.cumsum(1) - 1).clamp(min=0)
        out = model(input_ids=x, attention_mask=m, position_ids=pos, use_cache=True)
        past, logits = _cache_of(out), out.logits[:, -1]
        done = torch.zeros(len(chunk), dtype=torch.bool)
        new = torch.full((len(chunk), max_new_tokens), tok.pad_token_id, dtype=torch.long)
        last_pos = pos[:, -1]
        for t in range(max_new_tokens):
            if temperature > 0:
                probs = torch.softmax(logits.float() / temperature, dim=-1)
                nxt = torch.multinomial(probs, 1, generator=gen).squeeze(1)
            else:
                nxt = logits.argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, tok.pad_token_id), nxt)
            new[:, t] = nxt
            done |= torch.isin(nxt, stops)
            if bool(done.all()):
                break
            m = torch.cat([m, torch.ones((len(chunk), 1), dtype=torch.long)], 1)
            last_pos = last_pos + 1
            out = model(input_ids=nxt[:, None], attention_mask=m, position_ids=last_pos[:, None],
                        use_cache=True, **{cache_kw: past})
            past, logits = _cache_of(out), out.logits[:, -1]
        for row in new.tolist():
            keep = []
            for i in row:
                if i == tok.eos_token_id or i == tok.pad_token_id:
                    break
                keep.append(i)
                if i in stop_ids:
                    break
            texts.append(tok.decode(keep, skip_special_tokens=True))
    return [texts[i * num_samples:(i + 1) * num_samples] for i in range(len(prompts))]


def exact_match(model, tok, examples: list[dict], max_new_tokens: int = 8) -> float:
    """Share of ``{"prompt", "answer"}`` examples whose greedy completion equals the answer."""
    if not examples:
        return 0.0
    nl = tok.convert_tokens_to_ids("\n")
    outs = generate(model, tok, [e["prompt"] for e in examples], max_new_tokens, stop_ids=[nl])
    return float(np.mean([o[0].split("\n")[0].strip() == e["answer"] for o, e in zip(outs, examples)]))
