"""Build a zoo profile into a temporary sibling folder, write the manifest last, rename.

Stages and their share of the progress bar are fixed so the GUI's bar moves evenly. Data splits
are disjoint by problem text (training problems never appear in a held-out set).
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Callable

import numpy as np

from backend.models.zoo import stages as S
from backend.models.zoo import tasks as T
from backend.models.zoo.profiles import get_profile
from backend.models.zoo.store import MANIFEST, content_hashes, read_manifest, verify_zoo

FORMAT_VERSION = 1
# stage -> (start, end) fraction of the progress bar
_SPANS = {"data": (0.0, 0.02), "base": (0.02, 0.35), "finetune": (0.35, 0.5), "policy": (0.5, 0.63),
          "prm": (0.63, 0.78), "genprm": (0.78, 0.98), "finish": (0.98, 1.0)}


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def make_data(prof, seed: int) -> dict:
    """Every split, drawn from one seeded generator in a fixed order."""
    rng = np.random.default_rng(seed)
    d: dict = {"task_eval": {}, "task_train": {}}
    task_rng = np.random.default_rng([seed, 1])  # its own stream: task set sizes leave the rest as is
    for t in T.TASKS:
        d["task_eval"][t] = T.task_set(t, prof.n_task_eval, task_rng)
        held = {e["prompt"] for e in d["task_eval"][t]}
        d["task_train"][t] = T.task_set(t, prof.n_task_train, task_rng, exclude=held)
    d["policy_eval"] = T.problem_set(prof.n_policy_eval, rng, levels=[T.DEFAULT_LEVEL])
    seen = {p.text for p in d["policy_eval"]}
    d["policy_cal"] = T.problem_set(prof.n_policy_cal, rng, levels=[T.DEFAULT_LEVEL], exclude=seen)
    seen |= {p.text for p in d["policy_cal"]}
    d["policy_eval_levels"] = {}
    for lvl in T.LEVELS:
        d["policy_eval_levels"][lvl] = T.problem_set(prof.n_level_eval, rng, levels=[lvl], exclude=seen)
        seen |= {p.text for p in d["policy_eval_levels"][lvl]}
    d["pb_problems"] = T.problem_set(prof.n_pb, rng, levels=[2, 3, 4], exclude=seen)
    seen |= {p.text for p in d["pb_problems"]}
    d["ttrl"] = T.problem_set(prof.n_ttrl, rng, levels=[T.DEFAULT_LEVEL], exclude=seen)
    seen |= {p.text for p in d["ttrl"]}
    d["prm_train"] = T.problem_set(prof.n_prm_problems, rng, levels=[2, 3, 4, 5], exclude=seen)
    seen |= {p.text for p in d["prm_train"]}
    d["policy_train"] = T.problem_set(max(2000, prof.n_pretrain // 4) if prof.name != "tiny" else 200, rng,
                                      exclude=seen, weights=[1, 1, 2, 2, 1])
    seen |= {p.text for p in d["policy_train"]}
    d["genprm_train"] = T.problem_set(max(200, prof.n_genprm_train // 3), rng, levels=[2, 3, 4, 5], exclude=seen)
    # pretraining text may share problems with the training splits but never with held-out ones
    held_out = {p.text for k in ("policy_eval", "policy_cal", "pb_problems", "ttrl") for p in d[k]}
    held_out |= {p.text for ps in d["policy_eval_levels"].values() for p in ps}
    d["pretrain"] = [doc for doc in S.pretrain_docs(prof.n_pretrain, rng)
                     if not any(line[len("Problem: "):] in held_out for line in doc.split("\n")[:1])]
    return d


def _write_data(root: Path, d: dict, pb_records: list[dict]) -> None:
    data = root / "data"
    for t in T.TASKS:
        _jsonl(data / f"task_{t}_eval.jsonl", d["task_eval"][t])
        _jsonl(data / f"task_{t}_train.jsonl", d["task_train"][t])
    rows = [{"problem": p.text, "answer": str(p.answer), "level": p.level} for p in d["policy_eval"]]
    rows += [{"problem": p.text, "answer": str(p.answer), "level": p.level}
             for ps in d["policy_eval_levels"].values() for p in ps]
    _jsonl(data / "problems_eval.jsonl", rows)
    _jsonl(data / "problems_train.jsonl",
           [{"problem": p.text, "answer": str(p.answer), "level": p.level} for p in d["policy_train"]])
    _jsonl(data / "ttrl_unlabeled.jsonl", [{"problem": p.text} for p in d["ttrl"]])
    _jsonl(data / "ttrl_labeled.jsonl",
           [{"problem": p.text, "answer": str(p.answer), "level": p.level} for p in d["ttrl"]])
    _jsonl(data / "processbench.jsonl", pb_records)


def _processbench(records: list[dict], n: int) -> list[dict]:
    """ProcessBench-format rows from the policy's held-out samples, about half with an error."""
    bad = [r for r in records if 0 in r["labels"]]
    good = [r for r in records if 0 not in r["labels"]]
    pick = bad[: n // 2] + good[: n - min(len(bad), n // 2)]
    pick = pick[:n]
    return [{"id": f"arith-{i}", "generator": r.get("generator", "arith-policy"), "problem": r["problem"].text,
             "steps": r["steps"], "final_answer_correct": bool(r["final_answer_correct"]),
             "label": T.first_error(r["labels"])}
            for i, r in enumerate(pick)]


_BUILDER_NOTE = ".benchtop-builder"  # "PID HOST" of the build writing a .partial folder


def _builder_alive(note: str) -> bool | None:
    """Whether the build named by a builder note still runs (None: cannot tell here)."""
    import socket

    parts = note.split()
    if len(parts) != 2 or not parts[0].isdigit() or os.name == "nt":
        return None  # os.kill(pid, 0) would terminate the process on Windows
    if parts[1] != socket.gethostname():
        return None  # a build on another machine sharing this folder
    try:
        os.kill(int(parts[0]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_partials(root: Path, age_s: float = 600.0) -> list[Path]:
    """Delete temporary folders of interrupted builds; returns them.

    A ``.partial`` folder whose builder process is gone is stale at once (a killed build, then a
    new build right away); one whose builder cannot be checked is stale once untouched for
    ``age_s`` (it may belong to a build still running elsewhere)."""
    import shutil

    removed = []
    for p in root.parent.glob(f".{root.name}.*.partial"):
        if not p.is_dir() or p.is_symlink():
            continue
        try:
            alive = _builder_alive((p / _BUILDER_NOTE).read_text())
        except OSError:
            alive = None
        try:
            stale = alive is False or (alive is None and time.time() - p.stat().st_mtime > age_s)
        except OSError:
            continue
        if stale:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def build_zoo(root: str | Path, profile: str = "demo", progress: Callable[[float, str], None] | None = None,
              cancel: Callable[[], None] | None = None, seed: int = 0, ctx=None, force: bool = False) -> dict:
    """Build (or reuse) the zoo at ``root``; returns its manifest.

    A complete zoo with the same profile and seed is reused unless ``force``. Anything else there
    (half-written, damaged, other settings) is replaced atomically once the new build succeeds.
    ``ctx`` (a JobContext) supplies progress and cancellation when given.
    """
    import torch
    from transformers.utils import logging as hf_logging

    from backend.models.zoo.tokenizer import build_tokenizer
    from backend.workspace.atomic import atomic_dir, atomic_write_json

    root = Path(root)
    if ctx is not None:
        progress = progress or ctx.progress
        cancel = cancel or ctx.check_cancelled
    prof = get_profile(profile)
    old = read_manifest(root)
    if not force and old and verify_zoo(root) is None and old.get("profile") == profile \
            and old.get("seed") == seed and old.get("format_version") == FORMAT_VERSION:
        return old

    def report(stage: str, frac: float, msg: str) -> None:
        a, b = _SPANS[stage]
        if progress is not None:
            progress(a + (b - a) * min(1.0, frac), msg)

    def stepper(stage: str, total: int, label: str, lo: float = 0.0, hi: float = 1.0):
        return lambda step, loss: report(stage, lo + (hi - lo) * (step + 1) / total,
                                         f"{label}: step {step + 1}/{total}, loss {loss:.3f}")

    torch.set_num_threads(2)
    hf_logging.disable_progress_bar()
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    figures: dict = {}
    models: dict[str, dict] = {}
    root.parent.mkdir(parents=True, exist_ok=True)
    for stale in _remove_stale_partials(root):
        report("data", 0.0, f"removed {stale.name}, left by an interrupted build")
    with atomic_dir(root, overwrite=True) as tmp:
        import socket

        (tmp / _BUILDER_NOTE).write_text(f"{os.getpid()} {socket.gethostname()}")
        report("data", 0.0, "generating data")
        tok = build_tokenizer()
        data = make_data(prof, seed)
        (tmp / "tokenizer").mkdir()
        from backend.models.zoo.tokenizer import save_tokenizer
        save_tokenizer(tok, tmp / "tokenizer")

        report("base", 0.0, "pretraining arith-base")
        base, snapshot, info = S.train_base(tok, prof, data, seed, cancel,
                                            stepper("base", prof.base_steps, "arith-base"))
        S.save_model(base, tok, tmp / "arith-base")
        models["arith-base"] = {"kind": "causal-lm", **info, "init": "random"}

        fts = {}
        for i, t in enumerate(T.TASKS):
            pairs = [(e["prompt"], e["answer"]) for e in data["task_train"][t]]
            fts[t], info = S.finetune(base, tok, pairs, prof.ft_steps, prof.ft_lr, prof.batch, seed + 1 + i, cancel,
                                      stepper("finetune", prof.ft_steps, f"arith-ft-{t}", i / 5, (i + 1) / 5))
            S.save_model(fts[t], tok, tmp / f"arith-ft-{t}")
            models[f"arith-ft-{t}"] = {"kind": "causal-lm", "init": "arith-base", "task": t, **info}
        report("finetune", 0.85, "evaluating fine-tunes on every task")
        t0 = time.perf_counter()
        matrix = S.task_matrix({"arith-base": base, **{f"arith-ft-{t}": m for t, m in fts.items()}}, tok,
                               data["task_eval"])
        figures["tasks"] = {"accuracy": matrix, "n_eval": prof.n_task_eval, "metric": "exact match, greedy",
                            "margin_over_base": {t: round(matrix[f"arith-ft-{t}"][t] - matrix["arith-base"][t], 4)
                                                 for t in T.TASKS},
                            "margin_over_other_finetunes": {
                                t: round(matrix[f"arith-ft-{t}"][t] - max(matrix[f"arith-ft-{o}"][t]
                                                                          for o in T.TASKS if o != t), 4)
                                for t in T.TASKS}}
        timings["eval_tasks"] = round(time.perf_counter() - t0, 2)
        del fts

        report("policy", 0.0, "training arith-policy")
        policy, info = S.train_policy(base, snapshot, tok, prof, data, seed + 11, cancel,
                                      stepper("policy", prof.policy_steps, "arith-policy", 0, 0.7))
        S.save_model(policy, tok, tmp / "arith-policy")
        models["arith-policy"] = {"kind": "causal-lm", "init": f"arith-base checkpoint at step "
                                  f"{models['arith-base']['policy_snapshot_step']}", **info}
        del snapshot
        report("policy", 0.75, "evaluating arith-policy (greedy, majority vote)")
        t0 = time.perf_counter()
        figures["policy"] = S.policy_figures(policy, tok, prof, data, seed)
        timings["eval_policy"] = round(time.perf_counter() - t0, 2)

        report("prm", 0.0, "sampling the policy's solutions for PRM data")
        t0 = time.perf_counter()
        train_recs = S.sample_solutions(policy, tok, data["prm_train"], prof.prm_samples, seed + 21)
        held_recs = S.sample_solutions(policy, tok, data["pb_problems"], 2, seed + 22)
        n_policy_recs = {"train": len(train_recs), "held_out": len(held_recs)}
        # synthetic slips (same labelling rule) widen the PRM's training set; a weak policy (tiny
        # profile) may write too few parseable solutions, then synthetic ones fill the held-out set
        rng = np.random.default_rng(seed + 24)
        synth = [S.synthetic_record(p, rng) for p in data["genprm_train"]]
        held_recs += [S.synthetic_record(p, rng) for p in data["pb_problems"][: max(0, 8 - len(held_recs))]]
        timings["sample_policy"] = round(time.perf_counter() - t0, 2)
        if cancel:
            cancel()
        prm, info = S.train_prm(base, tok, prof, train_recs + synth, seed + 23, cancel,
                                stepper("prm", prof.prm_steps, "arith-prm", 0.2, 0.9))
        from backend.models.zoo.verifiers import PRM_CONFIG
        S.save_model(prm, tok, tmp / "arith-prm", extra={"benchtop_prm.json": PRM_CONFIG})
        models["arith-prm"] = {"kind": "token-classification", "init": "arith-base", **info,
                               "policy_records": n_policy_recs, "synthetic_records": len(synth)}
        figures["prm"] = S.prm_figures(prm, tok, held_recs)
        del prm

        report("genprm", 0.0, "training arith-genprm")
        rng = np.random.default_rng(seed + 31)
        pairs = S.genprm_examples(data["genprm_train"], prof.n_genprm_train, rng, extra=train_recs)
        # from the policy, not the base: the verifier's snippet copies the problem's first k
        # operations, and picking the k-th operation out of the problem is the policy's own skill
        # (from the base: 80.5% verdict agreement on the same data, from the policy: 97.5%)
        genprm, info = S.finetune(policy, tok, pairs, prof.genprm_steps, prof.genprm_lr, prof.batch, seed + 32,
                                  cancel, stepper("genprm", prof.genprm_steps, "arith-genprm", 0, 0.8))
        from backend.models.zoo.verifiers import GENPRM_CONFIG
        S.save_model(genprm, tok, tmp / "arith-genprm", extra={"benchtop_prm.json": GENPRM_CONFIG})
        models["arith-genprm"] = {"kind": "causal-lm", "init": "arith-policy", **info}
        report("genprm", 0.85, "evaluating arith-genprm (running its snippets)")
        t0 = time.perf_counter()
        figures["genprm"] = S.genprm_figures(genprm, tok, held_recs, prof.n_genprm_eval)
        timings["eval_genprm"] = round(time.perf_counter() - t0, 2)

        report("finish", 0.0, "writing data and manifest")
        _write_data(tmp, data, _processbench(held_recs, prof.n_pb))
        import tokenizers
        import transformers
        (tmp / _BUILDER_NOTE).unlink()
        hashes = content_hashes(tmp)
        manifest = {
            "format_version": FORMAT_VERSION, "profile": profile, "seed": seed, "settings": prof.to_dict(),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "build_seconds": round(time.perf_counter() - t_start, 1),
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                         "tokenizers": tokenizers.__version__, "numpy": np.__version__,
                         "python": platform.python_version()},
            "threads": torch.get_num_threads(), "models": models, "figures": figures, "timings": timings,
            "data": sorted(p.name for p in (tmp / "data").glob("*.jsonl")),
            "files": {rel: {"sha256": h, "size": (tmp / rel).stat().st_size} for rel, h in hashes.items()},
        }
        atomic_write_json(tmp / MANIFEST, manifest)
    report("finish", 1.0, f"zoo built in {manifest['build_seconds']} s")
    return manifest
