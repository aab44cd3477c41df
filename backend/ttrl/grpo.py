"""The GRPO update: token log-probs, the clipped policy loss with a KL penalty, one step.

Follows verl's GRPO as used by TTRL: the sequence advantage is broadcast over its response
tokens; the policy loss is PPO's clipped surrogate with dual clip (bound ``clip_ratio_c``
for negative advantages); the KL to the frozen reference is the low-variance estimator
k3 = exp(ref - logp) - (ref - logp) - 1, clamped to [-10, 10], added to the loss with
``kl_coef``; both terms are averaged over all response tokens of the mini-batch
("token-mean").

A :class:`TrainBatch` holds token ids, masks and advantages only. It has no field for a
label or an answer, so ground truth cannot reach the loss through it.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class TrainBatch:
    """What the loss sees: sequences, masks, advantages and the rollout-time log-probs."""

    sequences: torch.Tensor       # (B, P+T) long
    prompt_mask: torch.Tensor     # (B, P)
    response_mask: torch.Tensor   # (B, T)
    advantages: torch.Tensor      # (B,) float
    old_logp: torch.Tensor | None = None   # (B, T); None = on-policy (ratio 1 at the first update)
    ref_logp: torch.Tensor | None = None   # (B, T); None = no KL term

    def rows(self, idx: torch.Tensor) -> "TrainBatch":
        pick = lambda t: None if t is None else t[idx]  # noqa: E731
        return TrainBatch(self.sequences[idx], self.prompt_mask[idx], self.response_mask[idx],
                          self.advantages[idx], pick(self.old_logp), pick(self.ref_logp))


def token_logprobs(model, sequences: torch.Tensor, prompt_mask: torch.Tensor, response_mask: torch.Tensor,
                   temperature: float = 1.0, device: str = "cpu") -> torch.Tensor:
    """Log-probability of every response token under ``model`` (B, T); grads flow if enabled.

    Logits are divided by the rollout temperature, as verl's actor does, so the ratio compares
    the same distribution the rollouts were drawn from.
    """
    p = prompt_mask.shape[1]
    mask = torch.cat([prompt_mask, response_mask], dim=1).to(device)
    seq = sequences.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    logits = model(input_ids=seq, attention_mask=mask, position_ids=positions, use_cache=False).logits
    logits = logits[:, p - 1:-1, :].float() / temperature
    targets = seq[:, p:]
    return torch.log_softmax(logits, dim=-1).gather(-1, targets[..., None]).squeeze(-1)


def grpo_loss(logp: torch.Tensor, batch: TrainBatch, clip_ratio: float = 0.2, clip_ratio_c: float = 3.0,
              kl_coef: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Token-mean clipped policy loss plus ``kl_coef`` x low-variance KL; returns (loss, stats)."""
    mask = batch.response_mask.to(logp.device, logp.dtype)
    n_tokens = mask.sum().clamp(min=1.0)
    old = logp.detach() if batch.old_logp is None else batch.old_logp.to(logp.device)
    adv = batch.advantages.to(logp.device, logp.dtype)[:, None].expand_as(logp)
    log_ratio = (logp - old).clamp(-20.0, 20.0)
    ratio = torch.exp(log_ratio)
    loss1 = -adv * ratio
    loss2 = -adv * ratio.clamp(1.0 - clip_ratio, 1.0 + clip_ratio)
    clipped = torch.maximum(loss1, loss2)
    dual = torch.minimum(clipped, -adv * clip_ratio_c)
    pg = torch.where(adv < 0, dual, clipped)
    pg_loss = (pg * mask).sum() / n_tokens
    stats = {"pg_loss": float(pg_loss.detach()),
             "clip_frac": float((((loss2 > loss1).float()) * mask).sum() / n_tokens)}
    loss = pg_loss
    if batch.ref_logp is not None and kl_coef > 0:
        diff = batch.ref_logp.to(logp.device) - logp
        kl = (torch.exp(diff) - diff - 1.0).clamp(-10.0, 10.0)
        kl_loss = (kl * mask).sum() / n_tokens
        loss = loss + kl_coef * kl_loss
        stats["kl"] = float(kl_loss.detach())
    stats["loss"] = float(loss.detach())
    return loss, stats


def update(model, optimizer, batch: TrainBatch, *, temperature: float, clip_ratio: float, clip_ratio_c: float,
           kl_coef: float, grad_clip: float, mini_batches: int = 1, epochs: int = 1,
           device: str = "cpu") -> dict[str, float]:
    """Run ``epochs`` x ``mini_batches`` optimizer steps on ``batch``; returns averaged stats.

    Mini-batches are contiguous slices (no shuffling), so the update is a pure function of
    the batch and the model/optimizer state — needed for exact resume.
    """
    model.train()
    size = batch.sequences.shape[0]
    per = size // mini_batches
    totals: dict[str, float] = {}
    count = 0
    for _epoch in range(epochs):
        for m in range(mini_batches):
            part = batch.rows(torch.arange(m * per, (m + 1) * per))
            part = _trim(part)
            logp = token_logprobs(model, part.sequences, part.prompt_mask, part.response_mask, temperature, device)
            loss, stats = grpo_loss(logp, part, clip_ratio, clip_ratio_c, kl_coef)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip if grad_clip > 0 else float("inf"))
            optimizer.step()
            stats["grad_norm"] = float(norm)
            for k, v in stats.items():
                totals[k] = totals.get(k, 0.0) + v
            count += 1
    model.eval()
    return {k: v / count for k, v in totals.items()}


def _trim(batch: TrainBatch) -> TrainBatch:
    """Drop response columns that are padding in every row (saves compute, changes nothing)."""
    used = int(batch.response_mask.sum(dim=1).max().item()) if batch.response_mask.numel() else 0
    used = max(used, 1)
    p = batch.prompt_mask.shape[1]
    cut = lambda t: None if t is None else t[:, :used]  # noqa: E731
    return TrainBatch(batch.sequences[:, :p + used], batch.prompt_mask, batch.response_mask[:, :used],
                      batch.advantages, cut(batch.old_logp), cut(batch.ref_logp))
