"""merge-eval as shards: examples cut into the evaluator's own 32-row batches, shards of whole
batches, so every batch (and so every greedy answer) is the same whatever the executor and
shard count. The model is loaded once per process (``backend.scale.worker.memo``)."""
from __future__ import annotations

from typing import Any

BATCH = 32   # evaluate_policy's default batch: a block is exactly one of its batches


def blocks(rows_by_task: dict[str, list[dict]]) -> list[tuple[str, int, int]]:
    """(task, start, end) of every batch of every task, in task order."""
    return [(t, s, min(len(rows), s + BATCH)) for t, rows in rows_by_task.items() for s in range(0, len(rows), BATCH)]


def eval_shard(work: dict, shard: Any) -> list[dict]:
    """Greedy-evaluate the shard's blocks: one {task, correct, n, prompt} per block."""
    from backend.generation.evaluate import eval_prompt, evaluate_policy
    from backend.generation.prompting import PromptParams
    from backend.scale import worker

    def build() -> Any:
        import torch
        from transformers import AutoTokenizer

        from backend.compression.evaluate import load_model
        from backend.generation.policy import Policy

        with torch.no_grad():
            model = load_model(work["model"], device=work["device"])
        return Policy(model, AutoTokenizer.from_pretrained(work["model"]), work["device"])

    import torch

    policy = worker.memo(("merge-eval", work["model"], work["device"]), build)
    rp = eval_prompt(policy.tokenizer, PromptParams.from_params(work["prompt"] or {}), work["max_new_tokens"])
    out = []
    for k, b in enumerate(shard.items):
        worker.should_stop()
        task, s, e = work["blocks"][b]
        with torch.no_grad():
            st = evaluate_policy(policy, work["rows"][task][s:e], rp, batch_size=BATCH)
        out.append({"task": task, "correct": st["correct"], "n": st["n"], "prompt": st["prompt"]})
        worker.report((k + 1) / len(shard.items), f"{task}: {e}/{len(work['rows'][task])}")
    return out


def gather(tasks: list[str], pieces: list[list[dict]]) -> dict[str, dict]:
    """{task: {accuracy, n, correct, ci95, prompt}} summed over blocks (what task_stats returns)."""
    from backend.generation.evaluate import wilson

    stats: dict[str, dict] = {t: {"n": 0, "correct": 0, "prompt": {}} for t in tasks}
    for piece in pieces:
        for b in piece:
            st = stats[b["task"]]
            st["n"] += b["n"]
            st["correct"] += b["correct"]
            st["prompt"] = b["prompt"]
    for st in stats.values():
        n = st["n"]
        st["accuracy"] = st["correct"] / n if n else 0.0
        st["ci95"] = list(wilson(st["correct"], n))
    return stats
