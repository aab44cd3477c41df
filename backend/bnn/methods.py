"""One training step of each gradient method for the binary weights.

STE (SGD or Adam): the loss is computed on Q(W); autograd's straight-through backward gives
W.grad = c ⊙ g_Q.

Learned gradients (FSG's ``meta-quantize.py`` on MetaQuant's loop). g_Q^{t−1}, the gradient of the
loss w.r.t. the binary weights of the *previous* iteration, feeds the hypernets:
  fast  = g_Q^{t−1} ⊙ fast_net(w̃)
  meta  = c ⊙ fast                                      (MetaQuant: fast net only)
  meta  = α·slow(LRE, g_Q^{t−H..t−1}) + (1−α)·c ⊙ fast  (FSG)
The batch's forward uses the look-ahead weights W′ = W − lr·meta, so the loss back-propagates
through Q(W′) into both hypernets (updated with Adam). The stored weights then get
W.grad = c ⊙ fast (``combine="reference"``, the released code: the slow gradient only shapes W′)
or W.grad = meta (``combine="paper"``: the weighted sum is "the final gradient"), and the weight
optimiser steps. The first iteration has no previous gradient, so it is a plain STE step.
"""
from __future__ import annotations

from collections import deque

import torch
import torch.nn.functional as F

from backend.bnn.binary import BinaryNet, calibration, pre_quantized
from backend.bnn.hypernets import FastNet, SlowNet
from backend.bnn.params import BnnTrainParams


def make_optimizer(kind: str, params, lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr) if kind == "sgd" else torch.optim.Adam(params, lr=lr)


class StepResult:
    """What one step leaves for the metrics: the loss, STE-equivalent and applied gradients."""

    __slots__ = ("applied", "loss", "ste_grads")

    def __init__(self, loss: float, ste_grads: list[torch.Tensor], applied: list[torch.Tensor]) -> None:
        self.loss, self.ste_grads, self.applied = loss, ste_grads, applied


class GradientMethod:
    """STE, MetaQuant-style or FSG updates of a binarised :class:`BinaryNet`."""

    def __init__(self, model: BinaryNet, p: BnnTrainParams) -> None:
        self.model, self.p = model, p
        self.learned = p.method in ("metaquant", "fsg")
        self.lr = p.weight_lr()
        self.opt = make_optimizer(p.weight_optimizer(), list(model.parameters()), self.lr)
        self.fast = self.slow = None
        self.hyper_opts: list[torch.optim.Optimizer] = []
        if self.learned:
            # each hypernet has its own generator: FSG and MetaQuant build the same fast net
            self.fast = FastNet(p.fast_net, p.fast_hidden, torch.Generator().manual_seed(p.seed + 101))
            if list(self.fast.parameters()):
                self.hyper_opts.append(torch.optim.Adam(self.fast.parameters(), lr=p.fast_lr))
        if p.method == "fsg":
            n = len(model.layers)
            self.slow = SlowNet(n, p.slow_hidden, p.lre, torch.Generator().manual_seed(p.seed + 202))
            if p.slow_net == "gru":
                self.hyper_opts.append(torch.optim.Adam(self.slow.parameters(), lr=p.slow_lr))
        self.g_prev: list[torch.Tensor] | None = None
        self.history: deque[list[torch.Tensor]] = deque(maxlen=p.history)

    # -- the look-ahead -------------------------------------------------------------------------
    def _slow_grads(self) -> list[torch.Tensor]:
        ws = self.model.latent_weights()
        if self.p.slow_net == "zero" or self.slow is None:
            return [torch.zeros_like(w) for w in ws]
        hist = []
        for i, w in enumerate(ws):
            past = [h[i] for h in self.history]
            pad = [torch.zeros_like(w)] * (self.p.history - len(past))
            hist.append(torch.stack(pad + past))
        return self.slow(hist)

    def meta_gradients(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(look-ahead weights W′, gradients to apply to W) from the previous iteration's g_Q."""
        ws = self.model.latent_weights()
        slows = self._slow_grads() if self.slow is not None else None
        alpha = self.p.alpha
        g_prev = self.g_prev
        if g_prev is None or self.fast is None:
            raise RuntimeError("meta_gradients needs a previous step's gradients and a learned fast net")
        virtual, applied = [], []
        for i, w in enumerate(ws):
            cf = calibration(w) * (g_prev[i] * self.fast(pre_quantized(w.detach())))
            meta = cf if slows is None else alpha * slows[i] + (1 - alpha) * cf
            virtual.append(w.detach() - self.lr * meta)
            paper = slows is not None and self.p.combine == "paper"
            applied.append((meta if paper else cf).detach())
        return virtual, applied

    # -- one step -------------------------------------------------------------------------------
    def step(self, x: torch.Tensor, y: torch.Tensor) -> StepResult:
        model = self.model
        model.train()
        self.opt.zero_grad(set_to_none=True)
        for o in self.hyper_opts:
            o.zero_grad(set_to_none=True)
        look_ahead = self.learned and self.g_prev is not None
        virtual, planned = self.meta_gradients() if look_ahead else (None, None)
        loss = F.cross_entropy(model(x, virtual, record=True), y)
        loss.backward()
        g_q = [layer.last_q.grad.detach().clone() for layer in model.layers]
        ws = model.latent_weights()
        ste = [calibration(w) * g for w, g in zip(ws, g_q)] if look_ahead else [w.grad.detach().clone() for w in ws]
        if planned is not None:  # the look-ahead's update replaces the plain STE gradient
            for w, a in zip(ws, planned):
                w.grad = a.clone()
        applied = planned if planned is not None else ste
        for o in self.hyper_opts:
            o.step()
        self.opt.step()
        if self.learned:
            self.g_prev = g_q
            self.history.append(g_q)
        return StepResult(float(loss.detach()), ste, applied)
