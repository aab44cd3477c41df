"""The TTRL loop: sample, vote, reward, GRPO-update; evaluate, checkpoint, export.

Per step (``step`` counts completed updates; metrics of step s describe the update that
made it s):

1. draw ``prompts_per_step`` prompts (seeded shuffle per epoch, a function of the step);
2. sample ``n_votes`` rollouts per prompt, ``rollout_batch`` prompts a batch, each batch with a
   generator seeded by (seed, step, batch) (``rollout_batches``; the executor's shards);
3. pseudo-label each prompt by majority vote, reward rollouts equivalent to the label;
4. keep the first ``n_train`` rollouts of each prompt, normalise their rewards per group;
5. one GRPO update (``ppo_epochs`` x ``mini_batches`` optimizer steps).

Monitoring labels (``eval_path``) are matched to training prompts by problem text for label
and reward accuracy, and drive the periodic evaluation (pass@1 over ``eval_n`` samples at
``eval_temperature``, maj@N of the same samples). Evaluation samples from its own generator,
so supplying labels changes no training rollout, no batch and no weight.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from backend.generation.export import source_dtype
from backend.generation.prompting import PromptParams, pad_id
from backend.jobs.context import JobCancelled
from backend.scale.params import ExecutorParams
from backend.ttrl import checkpoint as ck
from backend.ttrl.config import TTRLConfig, parse_params
from backend.ttrl.data import LabelledProblem, load_labelled, load_prompts, step_indices
from backend.workspace.atomic import atomic_write_json, atomic_write_text


class NullContext:
    """Stands in for a JobContext when the trainer is called directly (bench, tests)."""

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose
        self.metrics: dict[str, list[tuple[float, float]]] = {}

    def progress(self, fraction, message: str = "") -> None:
        if self.verbose:
            print(f"[{100 * (fraction or 0):3.0f}%] {message}", flush=True)

    def metric(self, name: str, value: float, step=None) -> None:
        self.metrics.setdefault(name, []).append((step, float(value)))

    def log(self, line: str) -> None:
        if self.verbose:
            print(line, flush=True)

    def artifact(self, name: str, path) -> None:
        pass

    def check_cancelled(self) -> None:
        pass


def resolve_policy(policy: str | Path) -> Path:
    """A model folder, or a ``zoo:NAME`` resolved through the demo zoo."""
    from backend.models.tensors import resolve_model

    return resolve_model(policy, what="policy")


def _load(path: Path, dtype: str, device: str):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
    except Exception as exc:  # noqa: BLE001 - name the folder whatever went wrong
        raise ValueError(f"cannot load policy from {path}: {exc}") from exc
    model.to(device).eval()
    return model, tok


class Prompting:
    """The run's prompts, stop ids and answer length for this tokenizer (``backend.generation.prompting``)."""

    def __init__(self, tok: Any, model: Any, cfg: TTRLConfig, prompt: PromptParams | None = None) -> None:
        from backend.generation.prompting import has_chat_template, resolve, stop_ids

        self.tok = tok
        self.rp = resolve(tok, (prompt or PromptParams()).validate(), cfg.max_new_tokens)
        self.max_new_tokens = self.rp.max_tokens
        self.eos_ids = stop_ids(tok, getattr(model, "generation_config", None), has_chat_template(tok))
        self._cache: dict[str, str] = {}

    def prompts(self, problems: list[str]) -> list[str]:
        from backend.generation.prompting import build_prompt

        for p in problems:
            if p not in self._cache:
                self._cache[p] = build_prompt(self.tok, p, self.rp)
        return [self._cache[p] for p in problems]

    def record(self, example: str) -> dict:
        return {**self.rp.to_dict(), "example": self.prompts([example])[0] if example else ""}


def _seed(*parts: int) -> int:
    value = 0x9E3779B9
    for p in parts:
        value = (value * 1_000_003 + int(p)) % (2**63 - 1)
    return value


def _prepare_out(out: Path, resume: bool, info: dict[str, Any], cfg: TTRLConfig,
                 prompt: PromptParams) -> tuple[TTRLConfig, PromptParams, dict[str, Any]]:
    if resume:
        stored = ck.read_run_file(out)
        # a run file written before the prompt settings had their own group keeps them in "config"
        params = {**stored["config"], **(stored.get("prompt_settings") or {})}
        params["steps"] = cfg.steps  # a resumed run may be extended; everything else is kept
        # a run from before rollout batches sampled each step as one batch: keep that on resume
        params.setdefault("rollout_batch", params.get("prompts_per_step", TTRLConfig().prompts_per_step))
        try:
            cfg, prompt = parse_params(params)
        except ValueError as exc:
            raise ValueError(f"{out / ck.RUN_FILE}: {exc}") from None
        return cfg, prompt, stored
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"output folder {out} is not empty; choose another, or resume the run in it")
    out.mkdir(parents=True, exist_ok=True)
    ck.write_run_file(out, info)
    return cfg, prompt, info


def train(policy: str | Path | None, prompts_path: str | Path | None, out: str | Path, cfg: TTRLConfig | None = None,
          *, prompt: PromptParams | None = None, eval_path: str | Path | None = None, device: str = "cpu",
          resume: bool = False, ctx: Any = None, executor: ExecutorParams | None = None) -> dict[str, Any]:
    """Run (or resume) TTRL; returns a JSON-able summary. Writes only inside ``out``. A resumed run
    takes its settings (all but ``cfg.steps``) and files from the run file in ``out``. ``executor``
    shards the periodic evaluation (docs/scale.md)."""
    import torch

    from backend.ttrl import grpo, sampler, voting

    ctx = ctx or NullContext()
    cfg = (cfg or TTRLConfig()).validate()
    prompt = (prompt or PromptParams()).validate()
    out = Path(out)
    info: dict[str, Any] = {"policy": str(policy), "prompts": str(prompts_path),
                            "eval": str(eval_path) if eval_path else None,
                            "config": cfg.to_dict(), "prompt_settings": prompt.to_dict(), "created": time.time()}
    cfg, prompt, info = _prepare_out(out, resume, info, cfg, prompt)
    policy_path = resolve_policy(info["policy"])
    prompts = load_prompts(info["prompts"])
    labelled: list[LabelledProblem] = load_labelled(info["eval"]) if info.get("eval") else []
    truth_of = {p.problem: p.answer for p in labelled}
    eval_set = labelled[: cfg.eval_limit] if cfg.eval_limit else labelled
    torch.manual_seed(cfg.seed)

    latest = ck.latest_checkpoint(out) if resume else None
    model, tok = _load(latest[1] if latest else policy_path, cfg.dtype, device)
    prompting = Prompting(tok, model, cfg, prompt)
    ref = _load(policy_path, cfg.dtype, device)[0] if cfg.kl_coef > 0 else None
    if ref is not None:
        ref.requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(cfg))
    start = ck.load_trainer_state(latest[1], optimizer, scheduler) if latest else 0
    history = _load_history(out, start)
    ctx.log(f"TTRL: {len(prompts)} prompts, {len(labelled)} labelled for monitoring, steps {start}->{cfg.steps}, "
            f"policy {policy_path}, device {device}")

    def emit(name: str, value: float, step: int) -> None:
        ctx.metric(name, value, step)
        history.append({"step": step, "name": name, "value": float(value)})

    ran_on = executor.describe_run(1) if executor is not None else {"executor": "local", "shards": 1}
    sharded = executor is not None and (executor.executor == "ray" or executor.shards > 1)

    def evaluate(step: int) -> dict[str, float]:
        if not eval_set or step in {h["step"] for h in history if h["name"] == "eval/pass@1"}:
            return {}
        if sharded:
            from backend.ttrl.sharded import evaluate_sharded

            res, ran_on["shards"] = evaluate_sharded(model, policy_path, eval_set, cfg, prompt, device, executor,
                                                         ctx)
        else:
            res = evaluate_policy(model, tok, eval_set, cfg, device, ctx.check_cancelled, prompting=prompting)
        for k, v in res.items():
            emit(f"eval/{k}", v, step)
        ctx.log(f"step {step}: eval pass@1 {res['pass@1']:.3f}  maj@{cfg.eval_n} {res['maj@N']:.3f}")
        return res

    completed = start
    last_saved = start if latest else -1
    run_info = {"policy": str(policy_path), "prompts": info["prompts"], "config": cfg.to_dict(),
                "prompt": prompting.record(prompts[0].problem if prompts else "")}
    first_eval = evaluate(start) if start == 0 else {}
    try:
        for step in range(start, cfg.steps):
            ctx.check_cancelled()
            ctx.progress(step / cfg.steps, f"step {step + 1}/{cfg.steps}: sampling")
            idx = step_indices(len(prompts), step, cfg.prompts_per_step, cfg.seed)
            problems = [prompts[i].problem for i in idx]
            if sharded:
                from backend.ttrl.sharded import rollouts_sharded

                parts, ran_on["shards"] = rollouts_sharded(model, policy_path, problems, step, cfg, prompt, device,
                                                           executor, ctx)
            else:
                parts = rollout_batches(model, tok, problems, step, 0, cfg, prompting, device, ctx.check_cancelled)
            roll = sampler.concat(parts, pad_id(tok, prompting.eos_ids))
            n = cfg.n_votes
            votes = [voting.vote_group(roll.texts[g * n:(g + 1) * n]) for g in range(len(problems))]
            keep = [g * n + j for g in range(len(problems)) for j in range(cfg.n_train)]
            rewards = torch.tensor([v.rewards[: cfg.n_train] for v in votes])
            adv = voting.grpo_advantages(rewards, cfg.adv_eps)
            batch = build_batch(roll.select(keep), adv.reshape(-1))
            ctx.check_cancelled()  # the update below runs whole: a stop never leaves half a step
            ctx.progress((step + 0.5) / cfg.steps, f"step {step + 1}/{cfg.steps}: updating")
            with torch.no_grad():
                if ref is not None:
                    batch.ref_logp = grpo.token_logprobs(ref, batch.sequences, batch.prompt_mask, batch.response_mask,
                                                         cfg.temperature, device).cpu()
                if cfg.mini_batches > 1 or cfg.ppo_epochs > 1:
                    batch.old_logp = grpo.token_logprobs(model, batch.sequences, batch.prompt_mask,
                                                         batch.response_mask, cfg.temperature, device).cpu()
            stats = grpo.update(model, optimizer, batch, temperature=cfg.temperature, clip_ratio=cfg.clip_ratio,
                                clip_ratio_c=cfg.clip_ratio_c, kl_coef=cfg.kl_coef, grad_clip=cfg.grad_clip,
                                mini_batches=cfg.mini_batches, epochs=cfg.ppo_epochs, device=device)
            lr_used = scheduler.get_last_lr()[0]
            scheduler.step()
            completed = step + 1
            _emit_step(emit, completed, votes, rewards, roll, stats, lr_used)
            truths = [truth_of.get(p) for p in problems]
            for k, v in voting.monitor_metrics(votes, truths).items():
                emit(k, v, completed)
            _write_rollouts(out, ctx, completed, problems, votes, roll.texts, adv, cfg, truths)
            if cfg.eval_every and (completed % cfg.eval_every == 0 or completed == cfg.steps):
                evaluate(completed)
            if completed % cfg.checkpoint_every == 0 or completed == cfg.steps:
                ck.save_checkpoint(out, completed, model, tok, optimizer, scheduler, run_info, cfg.keep_checkpoints)
                last_saved = completed
            atomic_write_text(out / "metrics.jsonl", "".join(_json_line(h) for h in history))
    except (JobCancelled, KeyboardInterrupt):
        if completed > max(last_saved, 0):  # stopped between updates: keep what was learned
            ck.save_checkpoint(out, completed, model, tok, optimizer, scheduler, run_info, cfg.keep_checkpoints)
            atomic_write_text(out / "metrics.jsonl", "".join(_json_line(h) for h in history))
        raise
    ctx.progress(1.0, "exporting the trained model")
    export = ck.export_model(model, tok, out / "model", {**run_info, "steps": completed, "source": "benchtop ttrl"},
                             dtype=source_dtype(policy_path))
    last_eval = {h["name"][5:]: h["value"] for h in history if h["name"].startswith("eval/") and h["step"] == completed}
    first = {h["name"][5:]: h["value"] for h in history if h["name"].startswith("eval/") and h["step"] == 0}
    return {**ran_on, "out": str(out), "model": str(export), "steps": completed, "resumed_from": start,
            "eval_start": first or first_eval, "eval_end": last_eval, "metrics_file": str(out / "metrics.jsonl"),
            "checkpoints": [str(p) for _s, p in ck.list_checkpoints(out)]}


def build_batch(roll, advantages):
    """The training batch of the kept rollouts: tokens, masks and advantages — no labels."""
    from backend.ttrl.grpo import TrainBatch

    return TrainBatch(roll.sequences, roll.prompt_mask, roll.response_mask, advantages.float())


def rollout_batches(model, tok, problems: list[str], step: int, first: int, cfg: TTRLConfig,
                    prompting: "Prompting", device: str = "cpu", should_stop=None) -> list[Any]:
    """The step's rollouts of ``problems`` (positions ``first``... of the step's prompts, a multiple
    of ``cfg.rollout_batch``), one sampled batch per ``rollout_batch`` prompts. Batch ``c`` of step
    ``s`` draws from a generator seeded by (run seed, s, c) alone, so a batch's samples are the same
    wherever it runs; batch 0 keeps the seed a whole step had before batches existed, so a run with
    ``prompts_per_step <= rollout_batch`` samples exactly what it did."""
    import torch

    from backend.ttrl import sampler

    parts = []
    for i in range(0, len(problems), cfg.rollout_batch):
        c = (first + i) // cfg.rollout_batch
        gen = torch.Generator().manual_seed(_seed(cfg.seed, step, 1) if c == 0 else _seed(cfg.seed, step, 1, c))
        parts.append(sampler.sample(model, tok, prompting.prompts(problems[i:i + cfg.rollout_batch]), cfg.n_votes,
                                    max_new_tokens=prompting.max_new_tokens, temperature=cfg.temperature,
                                    top_p=cfg.top_p, generator=gen, device=device, should_stop=should_stop,
                                    eos_ids=prompting.eos_ids))
    return parts


EVAL_CHUNK = 8   # problems per evaluation batch; each chunk has its own generator (shardable)


def eval_chunks(model, tok, problems: list[LabelledProblem], cfg: TTRLConfig, first: int, device: str = "cpu",
                should_stop=None, prompting: "Prompting | None" = None) -> dict[str, list[float]]:
    """Per-problem pass@1, maj@N and no-answer share of ``problems`` (indices ``first``... of the
    evaluation set, a multiple of :data:`EVAL_CHUNK`). Chunk ``c`` samples from a generator seeded
    by (run seed, c) alone, so a chunk's numbers are the same wherever it runs (any shard, any executor)."""
    import torch

    from backend.ttrl import sampler, voting

    prompting = prompting or Prompting(tok, model, cfg)
    out: dict[str, list[float]] = {"pass@1": [], "maj@N": [], "no_answer": []}
    for i in range(0, len(problems), EVAL_CHUNK):
        part = problems[i:i + EVAL_CHUNK]
        gen = torch.Generator().manual_seed(_seed(cfg.seed, 2**31 - 1, 2, (first + i) // EVAL_CHUNK))
        roll = sampler.sample(model, tok, prompting.prompts([p.problem for p in part]), cfg.eval_n,
                              max_new_tokens=prompting.max_new_tokens, temperature=cfg.eval_temperature,
                              top_p=cfg.eval_top_p, generator=gen, device=device, should_stop=should_stop,
                              eos_ids=prompting.eos_ids)
        for g, prob in enumerate(part):
            answers = voting.extract_answers(roll.texts[g * cfg.eval_n:(g + 1) * cfg.eval_n])
            a, b = voting.pass_at_1_and_maj(answers, prob.answer)
            out["pass@1"].append(a)
            out["maj@N"].append(b)
            out["no_answer"].append(sum(x is None for x in answers) / len(answers))
    return out


def mean_eval(per_problem: dict[str, list[float]]) -> dict[str, float]:
    return {k: sum(v) / len(v) for k, v in per_problem.items()}


def evaluate_policy(model, tok, problems: list[LabelledProblem], cfg: TTRLConfig, device: str = "cpu",
                    should_stop=None, prompting: "Prompting | None" = None) -> dict[str, float]:
    """pass@1 (mean accuracy of ``eval_n`` samples) and maj@N on labelled problems.

    Every evaluation of a run draws the same random numbers (less noise between points of the
    curve) and none are taken from the training stream: each chunk of :data:`EVAL_CHUNK`
    problems samples from a generator seeded by the run's seed and the chunk's index.
    """
    return mean_eval(eval_chunks(model, tok, problems, cfg, 0, device, should_stop, prompting))


def _schedule(cfg: TTRLConfig):
    import math

    def factor(step: int) -> float:
        if cfg.warmup_steps and step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        if cfg.lr_schedule == "cosine":
            span = max(1, cfg.steps - cfg.warmup_steps)
            return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - cfg.warmup_steps) / span)))
        return 1.0

    return factor


def _emit_step(emit, step, votes, rewards, roll, stats, lr) -> None:
    emit("majority_ratio", sum(v.majority_ratio for v in votes) / len(votes), step)
    emit("reward_mean", float(rewards.mean()), step)
    emit("no_answer", sum(a is None for v in votes for a in v.answers) / sum(len(v.answers) for v in votes), step)
    emit("response_tokens", float(roll.response_mask.sum(dim=1).float().mean()), step)
    emit("lr", lr, step)
    for k in ("loss", "pg_loss", "kl", "clip_frac", "grad_norm"):
        if k in stats:
            emit(k, stats[k], step)


def _write_rollouts(out: Path, ctx, step, problems, votes, texts, adv, cfg, truths) -> None:
    """The step's rollouts (answers, votes, rewards, advantages) for the panel's table."""
    from backend.ttrl import voting

    n = cfg.n_votes
    groups = []
    for g, (problem, vote) in enumerate(zip(problems, votes)):
        counts: dict[str, int] = {}
        for a in vote.answers:
            if a is not None:
                counts[a] = counts.get(a, 0) + 1
        samples = [{"text": texts[g * n + j], "answer": a, "votes": counts.get(a, 0) if a is not None else 0,
                    "reward": r, "trained": j < cfg.n_train,
                    "advantage": float(adv[g, j]) if j < cfg.n_train else None}
                   for j, (a, r) in enumerate(zip(vote.answers, vote.rewards))]
        correct = None
        if truths[g] is not None:
            correct = bool(voting.rewards_against([vote.label], truths[g])[0]) if vote.label is not None else False
        groups.append({"problem": problem, "label": vote.label, "majority_ratio": vote.majority_ratio,
                       "truth": truths[g], "label_correct": correct, "samples": samples})
    path = atomic_write_json(out / "rollouts" / f"step-{step:06d}.json", {"step": step, "groups": groups}, indent=None)
    ctx.artifact("rollouts", path)


def _json_line(obj: dict) -> str:
    import json

    return json.dumps(obj) + "\n"


def _load_history(out: Path, upto: int) -> list[dict]:
    path = out / "metrics.jsonl"
    if upto == 0 or not path.is_file():
        return []
    from backend.readers import read_ttrl_metrics

    return read_ttrl_metrics(out, upto)
