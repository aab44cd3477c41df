"""Task accuracy of a (reconstructed) model on ``prompt``/``answer`` JSONL, through the shared
evaluator (``backend.generation.evaluate``; on the demo zoo the same figures as the zoo's own
first-line exact match). Reconstruction error alone does not predict
accuracy at ~1 bit (research note §2.4), so every claim here is also checked on the task.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from transformers import PreTrainedModel


def load_examples(path: str | Path, limit: int | None = None) -> list[dict]:
    """Rows with ``prompt`` and ``answer``; ValueError naming the file and line otherwise."""
    from backend.jsonl import strict_rows

    rows = []
    for i, row in strict_rows(path):
        if "prompt" not in row or "answer" not in row:
            raise ValueError(f"{path}:{i}: needs fields 'prompt' and 'answer'")
        rows.append({"prompt": str(row["prompt"]), "answer": str(row["answer"])})
    return rows[:limit] if limit else rows


def load_model(model_dir: str | Path, state_dict: dict[str, torch.Tensor] | None = None,
               device: str = "cpu") -> PreTrainedModel:
    """The model at ``model_dir`` (architecture + config), optionally with ``state_dict`` loaded in."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    if state_dict is not None:
        missing, unexpected = model.load_state_dict(state_dict, strict=False)
        real_missing = [k for k in missing if k not in getattr(model, "_tied_weights_keys", {}) or k in state_dict]
        if unexpected:
            raise ValueError(f"reconstructed weights do not fit {model_dir}: unexpected {unexpected[:3]}")
        if real_missing and len(real_missing) == len(list(model.state_dict())):
            raise ValueError(f"reconstructed weights do not fit {model_dir}: nothing matched")
    return model.to(device).eval()


def task_stats(model: PreTrainedModel, tokenizer_dir: str | Path, examples: list[dict], max_new_tokens: int = 0,
               prompt: dict | None = None) -> dict:
    """Accuracy, n, correct and 95% interval of greedy answers graded by the shared evaluator
    (``backend.generation.evaluate``): the tokenizer's chat template when it has one, the final
    answer extracted and compared by the grader; the zoo keeps first-line answers of 8 tokens."""
    from transformers import AutoTokenizer

    from backend.generation.evaluate import evaluate_model
    from backend.generation.prompting import PromptParams

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    spec = PromptParams.from_params(prompt or {})
    with torch.no_grad():
        return evaluate_model(model, tok, examples, spec, max_tokens=max_new_tokens)


def task_accuracy(model: PreTrainedModel, tokenizer_dir: str | Path, examples: list[dict], max_new_tokens: int = 0,
                  prompt: dict | None = None) -> float:
    """Share of examples answered correctly (:func:`task_stats`)."""
    if not examples:
        return 0.0
    return float(task_stats(model, tokenizer_dir, examples, max_new_tokens, prompt)["accuracy"])
