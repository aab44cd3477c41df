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
    """{task: accuracy} of the model (``state_dict`` replaces its weights when given)."""
    return {t: s["accuracy"] for t, s in task_stats(model_dir, files, limit, state_dict, device, model).items()}


def task_stats(model_dir: str | Path, files: dict[str, Path], limit: int | None = None,
               state_dict: dict[str, torch.Tensor] | None = None, device: str = "cpu", model=None,
               prompt: dict | None = None, max_new_tokens: int = 0) -> dict[str, dict]:
    """{task: {accuracy, n, correct, ci95, prompt}} through the shared evaluator
    (``backend.generation.evaluate``: chat template, answer extraction, grader)."""
    from backend.compression.evaluate import load_examples, load_model
    from backend.compression.evaluate import task_stats as one

    if model is None:
        model = load_model(model_dir, state_dict=state_dict, device=device)
    return {t: one(model, model_dir, load_examples(p, limit), max_new_tokens, prompt) for t, p in files.items()}
