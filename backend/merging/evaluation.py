"""Per-task accuracy of any causal LM folder (or composed state) on prompt/answer JSONL sets.

Task names that are not files resolve to the demo zoo's ``task_<name>_eval.jsonl``, so
``merge-eval zoo:arith-ft-add --tasks add,sub`` works with no paths.
"""
from __future__ import annotations

from pathlib import Path

import torch


def task_files(tasks: list[str], zoo_dir: Path | None = None) -> dict[str, Path]:
    from backend.models.zoo import zoo_data_path

    out = {}
    for t in tasks:
        p = Path(t).expanduser()
        if p.suffix == ".jsonl" or p.is_file():
            if not p.is_file():
                raise FileNotFoundError(f"eval set {p} does not exist")
            out[p.stem] = p
        else:
            out[t] = zoo_data_path(f"task_{t}_eval", root=zoo_dir) if zoo_dir else zoo_data_path(f"task_{t}_eval")
    return out


def evaluate_tasks(model_dir: str | Path, files: dict[str, Path], limit: int | None = None,
                   state_dict: dict[str, torch.Tensor] | None = None, device: str = "cpu",
                   model=None) -> dict[str, float]:
    """{task: exact-match accuracy} of the model (``state_dict`` replaces its weights when given)."""
    from backend.compression.evaluate import load_examples, load_model, task_accuracy

    if model is None:
        model = load_model(model_dir, state_dict=state_dict, device=device)
    return {t: task_accuracy(model, model_dir, load_examples(p, limit)) for t, p in files.items()}
