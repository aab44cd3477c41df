"""Training a tiny char-level LM with one position scheme (the ``fope.train`` job's work).

AdamW (betas 0.9/0.95, weight decay 0.1, grad-norm 1.0 as in the reference configs) with a short
warm-up and cosine decay to 10 %. Batches are random windows of the training head; a share of
them (``recall_frac``) carry a key-value needle so the model can learn the recall task at all.
"""
from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.positions.data import (
    CharTokenizer,
    need_length,
    needle_window,
    random_windows,
    read_text,
    split,
    text_digest,
)
from backend.positions.settings import FopeTrainParams


@contextlib.contextmanager
def cpu_threads(n: int, device: str) -> Iterator[None]:
    """Run with ``n`` torch threads on CPU, then restore. Tiny models gain nothing from more: on the
    shared 2-core machine, 2 threads took 0.8 CPU-s per step against 0.12 s for one (spin-waits)."""
    if not str(device).startswith("cpu"):
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _lr(step: int, total: int, base: float) -> float:
    warm = max(1, total // 20)
    if step < warm:
        return base * (step + 1) / warm
    frac = (step - warm) / max(1, total - warm)
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


def make_batch(tok: CharTokenizer, ids: np.ndarray, p: FopeTrainParams, rng: np.random.Generator,
               prng: random.Random) -> torch.Tensor:
    rows = random_windows(ids, p.train_len, p.batch, rng)
    n_needle = int(rng.binomial(p.batch, p.recall_frac)) if p.recall_frac > 0 else 0
    for i in range(n_needle):
        rows[i] = needle_window(tok, ids, p.train_len, prng)[0]
    return torch.from_numpy(rows)


def train(text_path: str | Path, out: str | Path, p: FopeTrainParams, ctx: Any = None,
          device: str = "cpu") -> dict:
    """Train, save the model to ``out`` (atomic), return a summary. ``ctx``: a JobContext or None."""
    with cpu_threads(p.threads, device):
        return _train(text_path, out, p, ctx, device)


def _train(text_path: str | Path, out: str | Path, p: FopeTrainParams, ctx: Any, device: str) -> dict:
    from backend.positions.evaluate import perplexity
    from backend.positions.model import build_tiny, save_model, spectrum

    text = read_text(text_path)
    head, tail = split(text)
    tok = CharTokenizer.fit(head)
    ids, held = tok.encode(head), tok.encode(tail)
    need_length(ids, p.train_len, "the training part (first 90 %) of the text", text_path)
    need_length(held, p.train_len, "the held-out part (last 10 %) of the text", text_path)
    if p.recall_frac > 0:
        needle_window(tok, ids, p.train_len, random.Random(0))   # refuses a window too short for the needle
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"output folder {out} already exists; choose another or remove it first")
    cfg = p.position_config()
    model = build_tiny(tok.size, cfg, layers=p.layers, d_model=p.d_model, heads=p.heads).to(device)
    params = [q for q in model.parameters() if q.requires_grad]
    decay = [q for q in params if q.dim() >= 2]
    rest = [q for q in params if q.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=p.lr, betas=(0.9, 0.95))
    rng, prng = np.random.default_rng(p.seed), random.Random(p.seed)
    torch.manual_seed(p.seed)
    losses: list[float] = []
    t0 = time.monotonic()
    model.train()
    for step in range(p.steps):
        if ctx is not None:
            ctx.check_cancelled()
        for g in opt.param_groups:
            g["lr"] = _lr(step, p.steps, p.lr)
        batch = make_batch(tok, ids, p, rng, prng).to(device)
        logits = model(batch[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise ValueError(f"training diverged at step {step + 1} (loss {value}); lower --lr")
        losses.append(value)
        if ctx is not None:
            ctx.metric("loss", value, step + 1)
            ctx.progress((step + 1) / p.steps, f"{p.pos} seed {p.seed}: step {step + 1}/{p.steps} loss {value:.3f}")
    train_s = time.monotonic() - t0
    model.eval()
    val = perplexity(model, held, [p.train_len], windows=16, device=device)[str(p.train_len)]
    info = {"params": p.to_dict(), "text": str(Path(text_path).resolve()), "text_sha": text_digest(text),
            "vocab": tok.size, "steps": p.steps, "final_loss": float(np.mean(losses[-20:])),
            "val_ppl_at_train_len": val, "train_seconds": round(train_s, 2), "losses": losses}
    spec = spectrum(model)
    save_model(model.cpu(), out, extra_files={"train_log.json": info, "spectrum.json": spec,
                                              "_vocab": lambda tmp: tok.save(tmp)})
    return {"model": str(out), "pos": p.pos, "seed": p.seed, "train_len": p.train_len, "steps": p.steps,
            "final_loss": info["final_loss"], "val_ppl_at_train_len": val, "train_seconds": info["train_seconds"],
            "n_params": sum(q.numel() for q in model.parameters())}
