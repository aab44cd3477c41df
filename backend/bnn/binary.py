"""DoReFa 1-bit weights with a straight-through backward, and the two networks that use them.

Forward (FSG's ``dorefa`` quantiser, bit width 1): w̃ = tanh(W)/(2·max|tanh W|) + 0.5 and
Q = 2·round(w̃) − 1 ∈ {−1, +1}. The backward passes the gradient of Q straight through the
rounding, so dL/dW = c ⊙ dL/dQ with the *calibration* c = (1 − tanh²W)/max|tanh W| (the max is
treated as a constant, as FSG's calibration does). :func:`calibration` is that c, and the
autograd backward multiplies by exactly the same tensor, so "STE" and "a learned gradient whose
scale is fixed to 1" are bit-for-bit the same computation (a sanity test relies on this).

Networks keep their latent full-precision weights as parameters. ``forward(x, weights=...)``
takes optional replacement weights per binary layer: the learned-gradient methods pass the
look-ahead weights W′ = W − lr·meta_grad there. Each binary layer's output is multiplied by a
per-layer constant frozen at binarisation (mean |W| of the pretrained weights, as in BWN), so the
binarised network starts near the pretrained one; hidden layers are followed by batch norm.
"""
from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn


def pre_quantized(w: torch.Tensor) -> torch.Tensor:
    """w̃ ∈ [0, 1], the DoReFa pre-quantised weight (the fast net's input)."""
    t = torch.tanh(w)
    return t / (2 * t.abs().max().detach().clamp_min(1e-12)) + 0.5


def calibration(w: torch.Tensor) -> torch.Tensor:
    """c = dQ/dW under the straight-through estimator: (1 − tanh²W)/max|tanh W| (detached)."""
    w = w.detach()
    t = torch.tanh(w)
    return (1 - t * t) / t.abs().max().clamp_min(1e-12)


class _Binarize(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(w)
        return 2 * torch.round(pre_quantized(w)) - 1

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (w,) = ctx.saved_tensors
        return grad * calibration(w)


def binarize(w: torch.Tensor) -> torch.Tensor:
    """Q(W) ∈ {−1, +1} with the calibrated straight-through gradient."""
    return _Binarize.apply(w)


class BinaryLayer(nn.Module):
    """A linear or conv layer whose weight is binarised once :meth:`binarize_` was called."""

    def __init__(self, weight_shape: tuple[int, ...], conv: bool, gen: torch.Generator) -> None:
        super().__init__()
        fan_in = math.prod(weight_shape[1:])
        bound = 1 / math.sqrt(fan_in)
        self.weight = nn.Parameter((torch.rand(weight_shape, generator=gen) * 2 - 1) * bound * math.sqrt(3))
        self.bias = nn.Parameter(torch.zeros(weight_shape[0]))
        self.register_buffer("scale", torch.ones(()))
        self.conv = conv
        self.binary = False
        self.last_q: torch.Tensor | None = None   # Q of the last forward (grad retained when recording)

    @torch.no_grad()
    def binarize_(self) -> None:
        """Switch to binary weights; the output scale is frozen at mean |W| of the current weights."""
        self.scale.fill_(float(self.weight.abs().mean()))
        self.binary = True

    def forward(self, x: torch.Tensor, weight: torch.Tensor | None = None, record: bool = False) -> torch.Tensor:
        w = self.weight if weight is None else weight
        if self.binary:
            q = binarize(w)
            if record and q.requires_grad:
                q.retain_grad()
            self.last_q = q
            w = q * self.scale
        return F.conv2d(x, w, self.bias, padding=1) if self.conv else F.linear(x, w, self.bias)


class BinaryNet(nn.Module):
    """MLP for feature vectors, a small conv net for images; the same binary-layer interface."""

    def __init__(self, input_shape: tuple[int, ...], n_classes: int, hidden: int, seed: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.input_shape = tuple(input_shape)
        self.image = len(input_shape) == 3
        layers: list[BinaryLayer] = []
        norms: list[nn.Module] = []
        if self.image:
            c, h, w = input_shape
            ch = (max(8, hidden // 16), max(16, hidden // 8))
            layers += [BinaryLayer((ch[0], c, 3, 3), True, gen), BinaryLayer((ch[1], ch[0], 3, 3), True, gen)]
            norms += [nn.BatchNorm2d(ch[0]), nn.BatchNorm2d(ch[1])]
            self.pool = min(h, w) >= 4
            feat = ch[1] * ((h // 2) * (w // 2) if self.pool else h * w)
            layers.append(BinaryLayer((n_classes, feat), False, gen))
        else:
            dims = (input_shape[0], hidden, hidden)
            for a, b in itertools.pairwise(dims):
                layers.append(BinaryLayer((b, a), False, gen))
                norms.append(nn.BatchNorm1d(b))
            layers.append(BinaryLayer((n_classes, dims[-1]), False, gen))
        self.layers = nn.ModuleList(layers)
        self.norms = nn.ModuleList(norms)

    def binarize_(self) -> None:
        for layer in self.layers:
            layer.binarize_()

    def forward(self, x: torch.Tensor, weights: list[torch.Tensor] | None = None, record: bool = False) -> torch.Tensor:
        ws = weights if weights is not None else [None] * len(self.layers)
        for i, (layer, norm) in enumerate(zip(self.layers, self.norms)):
            x = F.relu(norm(layer(x, ws[i], record)))
            if self.image and i == 1 and self.pool:
                x = F.max_pool2d(x, 2)
        x = x.flatten(1)
        return self.layers[-1](x, ws[-1], record)

    def latent_weights(self) -> list[nn.Parameter]:
        return [layer.weight for layer in self.layers]

    def other_parameters(self) -> list[nn.Parameter]:
        """Biases and batch-norm parameters: full precision, trained with their ordinary gradient."""
        latent = {id(p) for p in self.latent_weights()}
        return [p for p in self.parameters() if id(p) not in latent]

    def signs(self) -> list[torch.Tensor]:
        return [binarize(w.detach()) for w in self.latent_weights()]
