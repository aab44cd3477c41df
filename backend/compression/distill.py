"""Scale distillation: refit the stored scales of a compressed delta on calibration text.

BitDelta (arXiv 2402.10193) keeps its sign codes and trains only the per-matrix scales so that
the compressed model's outputs match the fine-tune's on some text. The same idea applies to
every code whose decoded values are a fixed pattern times a stored scale: Delta-DCT's uniform
quantizer stores one scale per patch (a patch decodes to its codes times that scale), so its
per-patch scales can be refitted the same way. Only numbers the artifact already stores change,
in their stored precision, so size, format and decoder stay as they are.

Why it helps: at ~1 bit per parameter the error is noise spread over every direction, and the
data-free scales (least squares per patch, then a per-tensor rescale) are tuned for weight-space
error, not for the model's outputs. A few hundred steps on a few thousand texts that need not
come from the fine-tune's task move them to where the outputs agree (docs/compression.md has the
figures).

Loss: KL(fine-tune ‖ compressed) of the next-token distributions over the calibration tokens.
BitDelta uses logit MSE; on the demo zoo (one scale per tensor) MSE took ft-sub from 65% to 42%
of its gain where KL took it to 88%. The trainable values are log-multipliers, initialised at 0
(the data-free scales). The exactly stored tensors (norm weights) are left as they are:
refitting them too, one multiplier per entry, lifted ft-mul and cost ft-upper 18 points of its
gain (the calibration text has none of its letters). Memory: the fine-tune in fp32 plus the
base and the decoded delta of every compressed tensor.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch

from backend.compression.params import CompressParams

Progress = Callable[[float, str], None]
PROMPT_FIELDS, REPLY_FIELDS = ("problem", "question"), ("completion", "answer", "response")


@dataclass(frozen=True)
class DistillConfig:
    """Settings of scale distillation; defaults are the measured choice (docs/compression.md);
    steps and lr are written once, in ``backend.compression.params.CompressParams``."""
    steps: int = CompressParams().distill_steps
    lr: float = CompressParams().distill_lr
    batch: int = 16
    max_tokens: int = 256
    seed: int = 0
    n_check: int = 64      # calibration texts held back to report the KL before and after

    @classmethod
    def from_dict(cls, d: dict | None) -> "DistillConfig":
        d = {k: v for k, v in (d or {}).items() if k in cls.__dataclass_fields__ and v is not None}
        cfg = cls(**d)
        if cfg.steps < 1 or cfg.batch < 1 or cfg.max_tokens < 2 or not cfg.lr > 0:
            raise ValueError(f"scale distillation needs steps, batch ≥ 1, max_tokens ≥ 2 and lr > 0, got {asdict(cfg)}")
        return cfg

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ScaleGroup:
    """One compressed tensor as base weights + decoded delta, the delta scaled per block
    (``block``×``block``; None: one scale for the tensor). ``log_step`` is the spacing of the
    stored scales on a log scale (None: stored in floating point)."""
    base: torch.Tensor
    pattern: torch.Tensor
    block: int | None
    log_step: float | None = None

    def stored(self, log_mult: torch.Tensor) -> torch.Tensor:
        """The multipliers the artifact can hold (rounded to the stored scale grid)."""
        if self.log_step is None:
            return log_mult
        return torch.round(log_mult / self.log_step) * self.log_step

    def grid(self) -> tuple[int, ...]:
        if self.block is None:
            return ()
        return tuple(-(-n // self.block) for n in self.pattern.shape)

    def weight(self, log_mult: torch.Tensor) -> torch.Tensor:
        m = log_mult.exp()
        if self.block is not None:
            for dim, n in enumerate(self.pattern.shape):
                m = m.repeat_interleave(self.block, dim).narrow(dim, 0, n)
        return self.base + m * self.pattern


def row_text(row: dict) -> str | None:
    """One JSONL row as text: ``text``; or ``prompt`` continued by its completion/answer/response
    (prompt-completion data: the reply follows the prompt directly); or ``problem``/``question``
    and, on the next line, its answer."""
    if "text" in row:
        return str(row["text"])
    reply = next((str(row[k]) for k in REPLY_FIELDS if row.get(k) is not None), "")
    if row.get("prompt") is not None:
        return str(row["prompt"]) + reply
    head = next((str(row[k]) for k in PROMPT_FIELDS if row.get(k) is not None), None)
    if head is None:
        return None
    return head + ("\n" + reply if reply else "")


def load_texts(path: str | Path) -> list[str]:
    """Calibration texts: a ``.jsonl`` file (one text per row, see :func:`row_text`) or any other
    text file (one text per non-empty line). ValueError naming the file and line otherwise."""
    from backend.jsonl import strict_rows

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"calibration text {path} does not exist")
    texts: list[str] = []
    if path.suffix == ".jsonl":
        for i, row in strict_rows(path):
            text = row_text(row)
            if text is None:
                raise ValueError(f"{path}:{i}: needs a 'text' field, or 'prompt' (with 'completion', 'answer' or "
                                 "'response'), or 'problem' / 'question' (with 'answer')")
            texts.append(text)
    else:
        try:
            raw = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        texts = [line for line in raw.splitlines() if line.strip()]
    if not texts:
        raise ValueError(f"{path}: no calibration text in it")
    return texts


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _batches(tok, texts: list[str], cfg: DistillConfig, device: str):
    """Tokenised batches of calibration texts (padding on the right; pad = eos when unset)."""
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    if pad is None:
        raise ValueError("the fine-tune's tokenizer has neither a pad nor an eos token; cannot batch texts")
    encoded = [tok(t, add_special_tokens=True)["input_ids"][: cfg.max_tokens] for t in texts]

    def make(idx) -> dict[str, torch.Tensor]:
        rows = [encoded[int(i)] for i in idx]
        n = max(len(r) for r in rows)
        x = torch.full((len(rows), n), pad, dtype=torch.long)
        m = torch.zeros((len(rows), n), dtype=torch.long)
        for j, r in enumerate(rows):
            x[j, :len(r)] = torch.tensor(r, dtype=torch.long)
            m[j, :len(r)] = 1
        return {"input_ids": x.to(device), "attention_mask": m.to(device)}
    return make


def _kl(teacher_logits: torch.Tensor, student_logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real tokens of KL(teacher ‖ student) of the next-token distributions."""
    t = torch.log_softmax(teacher_logits.float(), -1)
    s = torch.log_softmax(student_logits.float(), -1)
    kl = (t.exp() * (t - s)).sum(-1)
    m = mask.float()
    return (kl * m).sum() / m.sum().clamp_min(1)


def fit_scales(model, tok, groups: dict[str, ScaleGroup], texts: list[str], cfg: DistillConfig = DistillConfig(),
               device: str = "cpu", progress: Progress | None = None,
               cancel: Callable[[], None] | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """Log-multipliers (one per scale block of each group) minimising the KL between ``model`` (the
    fine-tune: the teacher, and the student's skeleton for every tensor not in ``groups``) and the
    same model with ``groups``' weights. Returns (the multipliers as stored, on the CPU; info with
    the KL on held-back texts before and after)."""
    from torch.func import functional_call

    report = progress or (lambda f, m: None)
    if not groups:
        raise ValueError("scale distillation has no compressed tensor to refit")
    gen = torch.Generator().manual_seed(cfg.seed)
    order = torch.randperm(len(texts), generator=gen).tolist()
    n_check = min(cfg.n_check, len(texts) // 4)
    check, train = [texts[i] for i in order[:n_check]], [texts[i] for i in order[n_check:]]
    make_train, make_check = _batches(tok, train, cfg, device), _batches(tok, check, cfg, device)
    model = model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    logs = {n: torch.zeros(g.grid(), device=device, requires_grad=True) for n, g in groups.items()}

    def student_logits(batch, stored: bool = False):
        params = {n: g.weight(g.stored(logs[n]) if stored else logs[n]) for n, g in groups.items()}
        return functional_call(model, params, args=(), kwargs=batch)["logits"]

    @torch.no_grad()
    def check_kl() -> float | None:
        """KL on the held-back texts with the scales as stored (the rounded ones)."""
        if not check:
            return None
        total = weight = 0.0
        for s in range(0, len(check), cfg.batch):
            b = make_check(range(s, min(len(check), s + cfg.batch)))
            k = float(_kl(model(**b).logits, student_logits(b, stored=True), b["attention_mask"]))
            w = float(b["attention_mask"].sum())
            total, weight = total + k * w, weight + w
        return total / weight

    before = check_kl()
    opt = torch.optim.Adam(list(logs.values()), lr=cfg.lr)
    t0 = time.perf_counter()
    loss = float("nan")
    for step in range(cfg.steps):
        if cancel:
            cancel()
        b = make_train(torch.randint(0, len(train), (cfg.batch,), generator=gen).tolist())
        with torch.no_grad():
            teacher = model(**b).logits
        kl = _kl(teacher, student_logits(b), b["attention_mask"])
        opt.zero_grad()
        kl.backward()
        opt.step()
        loss = float(kl.detach())
        if not torch.isfinite(kl):
            raise ValueError(f"scale distillation diverged at step {step + 1} (KL {loss}); lower the learning rate")
        report((step + 1) / cfg.steps, f"scale distillation step {step + 1}/{cfg.steps}, KL {loss:.4f}")
    after = check_kl()
    out = {n: groups[n].stored(v.detach()).cpu() for n, v in logs.items()}
    info = {"texts": len(train), "check_texts": len(check), "kl_before": before, "kl_after": after,
            "last_batch_kl": loss, "seconds": time.perf_counter() - t0, **cfg.to_dict()}
    return out, info
