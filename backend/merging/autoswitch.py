"""Auto-Switch: choose and combine T-Switch switches per input batch, without training.

A query set (about 100 prompts per task) is embedded once with the *base* model (causal LMs:
mean-pooled last hidden state over the prompt's tokens). For a batch, each prompt's k nearest
query features (Euclidean, uniform votes) give task probabilities; their batch mean is the soft
weight vector (``hard`` keeps only the argmax task), and the model run for the batch is
theta_base + sum_t w_t * knob_t * S_t.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch


@torch.no_grad()
def embed(model, tok, prompts: list[str], batch: int = 64) -> torch.Tensor:
    """Mean-pooled last hidden state of each prompt (padding excluded), float32 on CPU."""
    feats = []
    for i in range(0, len(prompts), batch):
        enc = tok(prompts[i:i + batch], return_tensors="pt", padding=True)
        dev = next(model.parameters()).device
        out = model(input_ids=enc["input_ids"].to(dev), attention_mask=enc["attention_mask"].to(dev),
                    output_hidden_states=True)
        h = out.hidden_states[-1].float().cpu()
        m = enc["attention_mask"].unsqueeze(-1).float()
        feats.append((h * m).sum(1) / m.sum(1).clamp(min=1))
    return torch.cat(feats)


@dataclass
class AutoSwitch:
    tasks: list[str]
    features: torch.Tensor      # (n_query, hidden)
    labels: torch.Tensor        # (n_query,) task index
    k: int = 10

    def probabilities(self, feats: torch.Tensor) -> torch.Tensor:
        """(batch, tasks): share of each prompt's k nearest query examples per task."""
        d = torch.cdist(feats, self.features)
        k = min(self.k, self.features.shape[0])
        idx = d.topk(k, largest=False).indices
        votes = torch.nn.functional.one_hot(self.labels[idx], len(self.tasks)).float()
        return votes.mean(1)

    def weights(self, feats: torch.Tensor, hard: bool = False) -> dict[str, float]:
        p = self.probabilities(feats).mean(0)
        if hard:
            p = torch.nn.functional.one_hot(p.argmax(), len(self.tasks)).float()
        return {t: float(w) for t, w in zip(self.tasks, p)}


def fit(model, tok, queries: dict[str, list[str]], k: int = 10) -> AutoSwitch:
    """The kNN index over the base model's features of each task's query prompts."""
    tasks = list(queries)
    feats, labels = [], []
    for i, t in enumerate(tasks):
        f = embed(model, tok, queries[t])
        feats.append(f)
        labels.append(torch.full((f.shape[0],), i, dtype=torch.long))
    return AutoSwitch(tasks, torch.cat(feats), torch.cat(labels), k)


def query_prompts(path: str | Path, n: int = 100) -> list[str]:
    from backend.compression.evaluate import load_examples

    return [r["prompt"] for r in load_examples(path, n)]
