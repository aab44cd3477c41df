"""The two hypernetworks of FSG: a fast net over each weight and a slow net over its gradient history.

Fast net (MetaQuant's ``MultiFC``, FSG's fast-net): bias-free Linear 1 → h → h → 1 applied to every
weight's pre-quantised value w̃; the fast gradient is g_Q ⊙ fast(w̃). Without a nonlinearity (the
reference's default) it reduces to a learned scalar times w̃; ``mlp`` puts ReLUs between the layers;
``one`` fixes the output to 1 (the fast gradient is then the plain straight-through gradient).

Slow net (FSG's slow-net over the historical gradient sequence, HGS). **Deviation:** the reference
runs a CUDA-only Mamba block over one long sequence that concatenates whole flattened gradient
tensors. Here a small GRU reads each weight's *own* last ``history`` gradients (batched over all
weights of all layers), preceded by the layer recognition embedding (LRE, one learned scalar per
layer, as the reference's ``nn.Embedding(num_layers, 1)``), and a linear head reads its last state.
Gradients are divided by their layer's RMS before the GRU and the output is multiplied back, so the
net sees unit-scale inputs whatever the loss scale; the output is used as the slow gradient as is.
"""
from __future__ import annotations

import itertools

import torch
from torch import nn


class FastNet(nn.Module):
    def __init__(self, kind: str, hidden: int, gen: torch.Generator) -> None:
        super().__init__()
        self.kind = kind
        dims = (1, hidden, hidden, 1)
        self.weights = nn.ParameterList()
        if kind != "one":
            for a, b in itertools.pairwise(dims):
                bound = (1 / a) ** 0.5
                self.weights.append(nn.Parameter((torch.rand((b, a), generator=gen) * 2 - 1) * bound))

    def forward(self, w_tilde: torch.Tensor) -> torch.Tensor:
        """Element-wise output with the shape of ``w_tilde``."""
        if self.kind == "one":
            return torch.ones_like(w_tilde)
        if self.kind == "linear":
            # no nonlinearity: the three layers compose to one scalar, so multiply them first
            # (the same function as applying them to every weight, ~10⁴ times cheaper)
            gain = self.weights[2] @ self.weights[1] @ self.weights[0]
            return w_tilde * gain.reshape(())
        x = w_tilde.reshape(-1, 1)
        for i, w in enumerate(self.weights):
            x = x @ w.t()
            if self.kind == "mlp" and i < len(self.weights) - 1:
                x = torch.relu(x)
        return x.reshape(w_tilde.shape)


class SlowNet(nn.Module):
    def __init__(self, n_layers: int, hidden: int, use_lre: bool, gen: torch.Generator) -> None:
        super().__init__()
        self.use_lre = use_lre
        self.lre = nn.Parameter(torch.randn(n_layers, generator=gen) * 0.1)
        self.gru = nn.GRU(1, hidden, batch_first=True)
        bound = hidden ** -0.5
        with torch.no_grad():
            for p in self.gru.parameters():
                p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)
        self.head = nn.Linear(hidden, 1)
        with torch.no_grad():
            self.head.weight.copy_((torch.rand(self.head.weight.shape, generator=gen) * 2 - 1) * bound * 0.1)
            self.head.bias.zero_()

    def forward(self, histories: list[torch.Tensor]) -> list[torch.Tensor]:
        """``histories[l]``: (H, *weight_shape) past gradients of layer l, oldest first.
        Returns one slow gradient per layer, with the weight's shape."""
        seqs, scales, sizes = [], [], []
        for layer, hist in enumerate(histories):
            flat = hist.reshape(hist.shape[0], -1).t()                     # (numel, H)
            rms = flat.pow(2).mean().sqrt().clamp_min(1e-12)
            token = self.lre[layer] if self.use_lre else self.lre.new_zeros(())
            seqs.append(torch.cat([token.expand(flat.shape[0], 1), flat / rms], dim=1))
            scales.append(rms)
            sizes.append(flat.shape[0])
        x = torch.cat(seqs, dim=0).unsqueeze(-1)                            # (Σ numel, H + 1, 1)
        _, h = self.gru(x)
        out = self.head(h[-1]).squeeze(-1)
        return [(o * s).reshape(hist.shape[1:]) for o, s, hist in zip(out.split(sizes), scales, histories)]
