"""Perplexity and key-value recall against the evaluation length (the ``fope.eval`` job's work)."""
from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.positions.data import (
    VALUE_LEN,
    CharTokenizer,
    need_length,
    needle_window,
    read_text,
    split,
    text_digest,
    tiled_windows,
)


@torch.no_grad()
def _nll(model: Any, rows: np.ndarray, device: str, chunk: int = 8) -> np.ndarray:
    """Per-position negative log-likelihood (windows × positions)."""
    out = []
    for i in range(0, len(rows), chunk):
        batch = torch.from_numpy(rows[i: i + chunk]).to(device)
        logits = model(batch[:, :-1]).logits.float()
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), batch[:, 1:], reduction="none")
        out.append(nll.cpu().numpy())
    return np.concatenate(out)


def perplexity(model: Any, ids: np.ndarray, lengths: list[int], windows: int = 24, device: str = "cpu",
               tail: dict | None = None) -> dict[str, float]:
    """exp(mean NLL) over up to ``windows`` non-overlapping windows per length. ``tail`` (if given)
    receives the perplexity over each window's last quarter (positions never seen in training)."""
    res = {}
    for length in lengths:
        nll = _nll(model, tiled_windows(ids, length, windows), device)
        res[str(length)] = float(math.exp(nll.mean()))
        if tail is not None:
            tail[str(length)] = float(math.exp(nll[:, -max(1, length // 4):].mean()))
    return res


@torch.no_grad()
def recall(model: Any, tok: CharTokenizer, ids: np.ndarray, length: int, trials: int, seed: int,
           device: str = "cpu", digits: dict | None = None) -> float:
    """Share of needle trials whose four value digits are all the argmax (teacher forcing).
    ``digits`` (if given) receives the per-digit accuracy under ``str(length)`` (chance: 0.1)."""
    prng = random.Random(seed * 7919 + length)
    rows, first = [], 0
    for _ in range(trials):
        seq, first = needle_window(tok, ids, length, prng)
        rows.append(seq)
    hits, right = 0, 0
    arr = np.stack(rows)
    for i in range(0, len(arr), 8):
        batch = torch.from_numpy(arr[i: i + 8]).to(device)
        pred = model(batch[:, :-1]).logits[:, first: first + VALUE_LEN].argmax(-1)
        ok = pred == batch[:, first + 1: first + 1 + VALUE_LEN]
        hits += int(ok.all(dim=1).sum())
        right += int(ok.sum())
    if digits is not None:
        digits[str(length)] = right / max(1, trials * VALUE_LEN)
    return hits / max(1, trials)


def evaluate(model_dir: str | Path, text_path: str | Path, lengths: list[int], windows: int = 24,
             trials: int = 32, seed: int = 0, ctx: Any = None, device: str = "cpu") -> dict:
    """Perplexity and recall per length. On the model's own training text the held-out tail is used;
    on any other text, the whole text."""
    from backend.positions.model import load_model

    model_dir = Path(model_dir)
    tok = CharTokenizer.load(model_dir)
    model, cfg = load_model(model_dir, device)
    text = read_text(text_path)
    own = _training_digest(model_dir) == text_digest(text)
    body = split(text)[1] if own else text
    ids = tok.encode(body)
    what = "the held-out part (last 10 %) of the training text" if own else "the text"
    need_length(ids, max(lengths), what, text_path)
    unknown = float((ids == 0).mean())
    ppl: dict[str, float] = {}
    tail: dict[str, float] = {}
    acc: dict[str, float] = {}
    digit_acc: dict[str, float] = {}
    total = len(lengths) * (2 if trials else 1)
    done = 0
    for length in lengths:
        if ctx is not None:
            ctx.check_cancelled()
        ppl.update(perplexity(model, ids, [length], windows, device, tail))
        done += 1
        if ctx is not None:
            ctx.metric("perplexity", ppl[str(length)], length)
            ctx.progress(done / total, f"length {length}: perplexity {ppl[str(length)]:.3f}")
        if trials:
            acc[str(length)] = recall(model, tok, ids, length, trials, seed, device, digit_acc)
            done += 1
            if ctx is not None:
                ctx.metric("recall", acc[str(length)], length)
                ctx.progress(done / total, f"length {length}: recall {acc[str(length)]:.2f}")
    return {"model": str(model_dir), "pos": cfg.kind if cfg else "rope (plain HF)",
            "train_len": cfg.train_len if cfg else None, "text": str(Path(text_path).resolve()),
            "held_out": own, "unknown_char_share": round(unknown, 5), "perplexity": ppl,
            "perplexity_last_quarter": tail, "recall": acc, "recall_digits": digit_acc}


def _training_digest(model_dir: Path) -> str | None:
    import json

    log = model_dir / "train_log.json"
    if not log.exists():
        return None
    return json.loads(log.read_text(encoding="utf-8")).get("text_sha")
