"""The merge-and-compare study's evaluations as shards.

A study evaluates several models on every task: the base, each fine-tune, and the merge (or,
for T-Switch, the base with one task's switches composed in). Each (model, task) is cut into the
evaluator's own 32-row batches (as merge-eval does), so every greedy answer is the same whatever
the executor and shard count. Blocks are listed model by model, so a shard loads a model once
for its run of consecutive blocks and lets it go before the next: a worker never holds more
than one of the study's models.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

BATCH = 32   # evaluate_policy's default batch
ORACLE = "T-Switch (oracle task)"


def study_evaluations(base: Path, finetunes: dict[str, Path], method: str, out: Path,
                      tasks: list[str]) -> list[dict]:
    """What the study evaluates, in the order its table lists it: ``{label, model, tasks}`` plus
    ``tswitch``/``weights`` for a composed T-Switch model (tokenizer: the model folder)."""
    evals: list[dict[str, Any]] = [{"label": "base", "model": str(base), "tasks": list(tasks)}]
    evals += [{"label": f"ft-{t}", "model": str(p), "tasks": list(tasks)} for t, p in finetunes.items()]
    if method == "tswitch":
        evals += [{"label": ORACLE, "model": str(base), "tswitch": str(out), "weights": {t: 1.0}, "tasks": [t]}
                  for t in finetunes if t in tasks]
    else:
        evals.append({"label": f"merged ({method})", "model": str(out), "tasks": list(tasks)})
    return evals


def blocks(evals: list[dict], rows: dict[str, list[dict]]) -> list[tuple[int, str, int, int]]:
    """(evaluation index, task, start, end) of every batch, model by model."""
    return [(i, t, s, min(len(rows[t]), s + BATCH))
            for i, e in enumerate(evals) for t in e["tasks"] for s in range(0, len(rows[t]), BATCH)]


def _policy(e: dict, device: str) -> Any:
    import torch
    from transformers import AutoTokenizer

    from backend.compression.evaluate import load_model
    from backend.generation.policy import Policy

    with torch.no_grad():
        if e.get("tswitch"):
            from backend.merging.tswitch import compose_state

            model = load_model(e["model"], state_dict=compose_state(e["model"], e["tswitch"], e["weights"]),
                               device=device)
        else:
            model = load_model(e["model"], device=device)
    return Policy(model, AutoTokenizer.from_pretrained(e["model"]), device)


def eval_shard(work: dict, shard: Any) -> list[dict]:
    """Greedy-evaluate the shard's blocks: one ``{eval, task, correct, n}`` per block."""
    import torch

    from backend.generation.evaluate import eval_prompt, evaluate_policy
    from backend.generation.prompting import PromptParams
    from backend.scale import worker

    current: int = -1
    policy: Any = None
    rp: Any = None
    out = []
    for k, b in enumerate(shard.items):
        worker.should_stop()
        i, task, s, e = work["blocks"][b]
        if i != current:
            policy = None                                   # let the previous model go first
            policy = _policy(work["evals"][i], work["device"])
            rp = eval_prompt(policy.tokenizer, PromptParams.from_params(work["prompt"] or {}),
                             work["max_new_tokens"])
            current = i
        with torch.no_grad():
            st = evaluate_policy(policy, work["rows"][task][s:e], rp, batch_size=BATCH)
        out.append({"eval": i, "task": task, "correct": st["correct"], "n": st["n"]})
        worker.report((k + 1) / len(shard.items), f"evaluated {work['evals'][i]['label']} on {task}")
    return out


def gather(evals: list[dict], pieces: list[list[dict]]) -> dict[str, dict[str, float]]:
    """{label: {task: accuracy}} summed over blocks (a task without examples scores 0.0)."""
    counts = {(i, t): [0, 0] for i, e in enumerate(evals) for t in e["tasks"]}
    for piece in pieces:
        for b in piece:
            c = counts[(b["eval"], b["task"])]
            c[0] += b["correct"]
            c[1] += b["n"]
    acc: dict[str, dict[str, float]] = {}
    for (i, t), (correct, n) in counts.items():
        acc.setdefault(evals[i]["label"], {})[t] = correct / n if n else 0.0
    for e in evals:                                     # a model with no task to score keeps its row
        acc.setdefault(e["label"], {})
    return acc


def evaluate_study(evals: list[dict], rows: dict[str, list[dict]], executor: Any, ctx: Any,
                   device: str = "cpu") -> tuple[dict[str, dict[str, float]], int]:
    """(accuracy per model and task, shard count) on ``executor`` (``backend.scale``)."""
    from backend.scale import ExecutorParams, plan_shards, run_shards
    from backend.scale.executor import resolve_shard_count

    executor = executor or ExecutorParams()
    cut = blocks(evals, rows)
    if not cut:
        return gather(evals, []), 0
    work = {"evals": evals, "rows": rows, "blocks": cut, "device": device, "prompt": {}, "max_new_tokens": 0}
    pieces = run_shards(eval_shard, plan_shards(len(cut), resolve_shard_count(executor, len(cut))), work,
                        executor, ctx, "study evaluation")
    return gather(evals, pieces), len(pieces)
