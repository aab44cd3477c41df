"""Task accuracy of a (reconstructed) model: greedy exact match on ``prompt``/``answer`` JSONL.

Reuses the zoo's batched greedy generator (``backend.models.zoo.train.exact_match``) so the
numbers are the same metric as the zoo's own figures. Reconstruction error alone does not predict
accuracy at ~1 bit (research note §2.4), so every claim here is also checked on the task.
"""
from __future__ import annotations

from pathlib import Path

import torch


def load_examples(path: str | Path, limit: int | None = None) -> list[dict]:
    """Rows with ``prompt`` and ``answer``; ValueError naming the file and line otherwise."""
    from backend.jsonl import strict_rows

    rows = []
    for i, row in strict_rows(path):
        if "prompt" not in row or "answer" not in row:
            raise ValueError(f"{path}:{i}: needs fields 'prompt' and 'answer'")
        rows.append({"prompt": str(row["prompt"]), "answer": str(row["answer"])})
    return rows[:limit] if limit else rows


def load_model(model_dir: str | Path, state_dict: dict[str, torch.Tensor] | None = None, device: str = "cpu"):
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


def task_accuracy(model, tokenizer_dir: str | Path, examples: list[dict], max_new_tokens: int = 8) -> float:
    """Share of examples whose greedy completion (first line, stripped) equals the answer."""
    from transformers import AutoTokenizer

    from backend.models.zoo.train import exact_match

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    with torch.no_grad():
        return float(exact_match(model, tok, examples, max_new_tokens=max_new_tokens))
