"""Pretrain in full precision, binarise, fine-tune with one gradient method, measure every epoch.

Per epoch: mean training loss (and every iteration's loss), test accuracy, the share of binary
weights whose sign flipped since the previous epoch, histograms of the straight-through gradient
c ⊙ g_Q and of the gradient actually applied to the weights (identical for STE; the learned one
for MetaQuant and FSG) with their cosine similarity, and the wall time of the epoch's training.
Outputs (written atomically into ``out``): ``model.safetensors`` (the binarised network: signs as
int8, per-layer scales, biases, batch-norm state) and ``metrics.json``.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from backend.bnn.binary import BinaryNet
from backend.bnn.data import Dataset, prepare
from backend.bnn.methods import GradientMethod
from backend.bnn.params import BnnTrainParams
from backend.workspace.atomic import atomic_write_bytes, atomic_write_json

if TYPE_CHECKING:
    from backend.jobs import JobContext

METRIC_INTERVAL_S = 0.1


def batches(n: int, size: int, gen: torch.Generator) -> list[torch.Tensor]:
    order = torch.randperm(n, generator=gen)
    return [order[i:i + size] for i in range(0, n, size) if len(order[i:i + size]) > 1]  # BN needs 2+


@torch.no_grad()
def accuracy(model: BinaryNet, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    pred = torch.cat([model(x[i:i + 1024]).argmax(1) for i in range(0, len(x), 1024)])
    return float((pred == y).float().mean())


def histogram(values: torch.Tensor, bins: int) -> dict[str, Any]:
    """Counts over a symmetric range (99.5th percentile of |value|), with the RMS for scale."""
    v = values.detach().flatten().double().numpy()
    lim = float(np.quantile(np.abs(v), 0.995)) or 1e-12
    counts, edges = np.histogram(np.clip(v, -lim, lim), bins=bins, range=(-lim, lim))
    return {"edges": edges.tolist(), "counts": counts.tolist(), "rms": float(np.sqrt(np.mean(v * v)))}


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(F.cosine_similarity(a.flatten().double(), b.flatten().double(), dim=0))


def pretrain(model: BinaryNet, ds: Dataset, p: BnnTrainParams, tensors, report) -> list[float]:
    """Full-precision training with Adam (lr 1e-3); returns the mean loss of each epoch."""
    xtr, ytr = tensors
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(p.seed + 1)
    losses = []
    for epoch in range(p.pretrain_epochs):
        model.train()
        total, count = 0.0, 0
        for idx in batches(len(xtr), p.batch_size, gen):
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            total, count = total + float(loss.detach()) * len(idx), count + len(idx)
            report(None)
        losses.append(total / max(count, 1))
        report(f"pretraining epoch {epoch + 1}/{p.pretrain_epochs}: loss {losses[-1]:.4f}")
    return losses


def model_tensors(model: BinaryNet) -> dict[str, torch.Tensor]:
    """The binarised network: int8 signs instead of the latent weights, everything else as is."""
    out: dict[str, torch.Tensor] = {}
    for name, t in model.state_dict().items():
        if name.endswith(".weight") and name.startswith("layers."):
            out[name.replace(".weight", ".sign")] = torch.sign(t).to(torch.int8) | 1  # 0 -> +1 as Q does
        else:
            out[name] = t.detach().clone().contiguous()
    return out


def train(data: str, p: BnnTrainParams, out: str | Path | None = None,
          ctx: JobContext | None = None) -> dict[str, Any]:
    """One full run; ``ctx`` (a JobContext) gets progress, metrics and cancellation checks."""
    t_start = time.perf_counter()
    ds = prepare(data, p.seed, p.test_fraction)
    torch.manual_seed(p.seed)
    xtr, ytr = torch.from_numpy(ds.x_train), torch.from_numpy(ds.y_train)
    xte, yte = torch.from_numpy(ds.x_test), torch.from_numpy(ds.y_test)
    model = BinaryNet(ds.input_shape, ds.n_classes, p.hidden, p.seed)
    per_epoch = len(batches(len(xtr), p.batch_size, torch.Generator()))
    total_steps = max(1, per_epoch * (p.pretrain_epochs + p.epochs))
    done, phase = [0], ["pretraining"]

    def report(message: str | None) -> None:
        if message is None:
            done[0] += 1
        else:
            phase[0] = message
        if ctx is not None:
            ctx.check_cancelled()
            if message is not None:
                ctx.log(message)
            ctx.progress(done[0] / total_steps, phase[0])

    pre_losses = pretrain(model, ds, p, (xtr, ytr), report)
    fp_acc = accuracy(model, xte, yte)
    model.binarize_()
    start_acc = accuracy(model, xte, yte)
    report(f"full precision {fp_acc:.4f}; binarised before fine-tuning {start_acc:.4f}")
    method = GradientMethod(model, p)
    gen = torch.Generator().manual_seed(p.seed + 2)
    signs = model.signs()
    hist: dict[str, list] = {"epoch_loss": [], "iter_loss": [], "test_accuracy": [], "flip_share": [],
                             "epoch_time_s": [], "grad_cosine": [], "grad_hist": []}
    it, pending, last_emit = 0, [], 0.0
    for epoch in range(1, p.epochs + 1):
        t0 = time.perf_counter()
        total, count, last = 0.0, 0, None
        for idx in batches(len(xtr), p.batch_size, gen):
            last = method.step(xtr[idx], ytr[idx])
            it += 1
            hist["iter_loss"].append(last.loss)
            total, count = total + last.loss * len(idx), count + len(idx)
            pending.append(last.loss)
            if ctx is not None and time.monotonic() - last_emit >= METRIC_INTERVAL_S:
                # live curve: the mean of the iterations since the last point, at most ~10 per second
                # (STE runs hundreds of iterations a second; every one is in the result and metrics.json)
                ctx.metric("train_loss", sum(pending) / len(pending), it)
                pending, last_emit = [], time.monotonic()
            report(None)
        elapsed = time.perf_counter() - t0
        if ctx is not None and pending:
            ctx.metric("train_loss", sum(pending) / len(pending), it)
            pending, last_emit = [], time.monotonic()
        new_signs = model.signs()
        flipped = sum(int((a != b).sum()) for a, b in zip(signs, new_signs))
        flip = flipped / sum(s.numel() for s in signs)
        signs = new_signs
        acc = accuracy(model, xte, yte)
        assert last is not None, "an epoch without batches (fewer than 2 training rows)"
        ste = torch.cat([g.flatten() for g in last.ste_grads])
        applied = torch.cat([g.flatten() for g in last.applied])
        row = {"epoch_loss": total / max(count, 1), "test_accuracy": acc, "flip_share": flip, "epoch_time_s": elapsed,
               "grad_cosine": _cosine(ste, applied)}
        for k, v in row.items():
            hist[k].append(v)
            if ctx is not None:
                ctx.metric(k, v, epoch)
        hist["grad_hist"].append({"epoch": epoch, "ste": histogram(ste, p.hist_bins),
                                  "applied": histogram(applied, p.hist_bins)})
        report(f"epoch {epoch}/{p.epochs}: loss {row['epoch_loss']:.4f}, test accuracy {acc:.4f}, "
               f"sign flips {100 * flip:.2f}%, {elapsed:.2f}s")
    wall = time.perf_counter() - t_start
    result: dict[str, Any] = {
        "method": p.method, "data": ds.name, "seed": p.seed, "input_shape": list(ds.input_shape),
        "architecture": "conv" if model.image else "mlp", "n_train": len(ytr), "n_test": len(yte),
        "n_classes": ds.n_classes, "n_binary_weights": sum(w.numel() for w in model.latent_weights()),
        "weight_optimizer": p.weight_optimizer(), "weight_lr": p.weight_lr(),
        "fp_test_accuracy": fp_acc, "binarized_start_accuracy": start_acc,
        "test_accuracy": hist["test_accuracy"][-1], "best_test_accuracy": max(hist["test_accuracy"]),
        "train_loss": hist["epoch_loss"], "train_loss_iter": hist["iter_loss"], "pretrain_loss": pre_losses,
        "test_accuracy_per_epoch": hist["test_accuracy"], "flip_share": hist["flip_share"],
        "grad_cosine": hist["grad_cosine"], "epoch_time_s": hist["epoch_time_s"],
        "mean_epoch_time_s": float(np.mean(hist["epoch_time_s"])), "wall_time_s": wall,
    }
    if out is not None:
        import safetensors.torch

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        model_path = atomic_write_bytes(out / "model.safetensors", safetensors.torch.save(
            model_tensors(model), metadata={"method": p.method, "data": ds.name, "format": "benchtop-bnn-1"}))
        metrics = {**result, "params": p.to_dict(), "grad_hist": hist["grad_hist"]}
        metrics_path = atomic_write_json(out / "metrics.json", metrics)
        result.update(model=str(model_path), metrics_file=str(metrics_path), out=str(out))
        if ctx is not None:
            ctx.artifact("metrics", metrics_path)
            ctx.artifact("model", model_path)
    return result
