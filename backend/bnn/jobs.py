"""The ``bnn.train`` job: pretrain, binarise and fine-tune one network with one gradient method.

Inputs: ``data`` (a built-in set name — digits, iris, wine, breast_cancer — or an ``.npz`` path),
optional ``out`` (output folder; default ``<run_dir>/bnn``). Params: :class:`BnnTrainParams`.
Live output through ``ctx.metric``: ``train_loss`` per iteration; ``epoch_loss``,
``test_accuracy``, ``flip_share``, ``epoch_time_s`` and ``grad_cosine`` per epoch. The artifact
``metrics`` (``metrics.json``) also holds the per-epoch gradient histograms.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from backend.jobs.registry import register_job

if TYPE_CHECKING:
    from backend.jobs import JobContext, JobSpec


@register_job("bnn.train", title="Binary network: STE vs learned gradients")
def train_job(spec: JobSpec, ctx: JobContext) -> dict:
    import torch

    from backend.bnn.params import BnnTrainParams
    from backend.bnn.trainer import train

    p = BnnTrainParams.from_params(spec.params)
    data = spec.inputs.get("data")
    if not data:
        raise ValueError("bnn.train needs the input 'data' (digits, iris, wine, breast_cancer or an .npz file)")
    out = Path(spec.inputs.get("out") or ctx.run_dir / "bnn")
    before = torch.get_num_threads()
    torch.set_num_threads(p.threads)
    try:
        return train(data, p, out=out, ctx=ctx)
    finally:
        torch.set_num_threads(before)
