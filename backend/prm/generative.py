"""Generative PRMs in GenPRM's shape (docs/contracts.md, research note §1.3).

For step k the verifier sees ``Problem: …`` + earlier steps + ``Check step k: …`` and writes
``<analyze>…</analyze>`` and ``<verify> code </verify>``. The code runs in ``backend.sandbox``
(a separate limited process, never ``exec``), its stdout (stripped, first 200 characters) is
appended as ``<output>…</output>\\nVerdict:``, and the step's reward is
p(" Yes") / (p(" Yes") + p(" No")) at the next token (0.5 when both are 0). N sampled
judgements per step are averaged (GenPRM's own test-time scaling); every rationale, snippet,
sandbox status and output is kept for display.

Each snippet runs alone: state from step k's code is not visible at step k+1 (the reference
keeps one namespace per solution; fresh processes are what make the sandbox safe).
All prompts of a call (solutions × steps × N samples) are generated as one batch, left-padded.
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Sequence

import torch

_STEP_LABEL = re.compile(r"^\s*Step\s+\d+\s*[:.]\s*", re.I)


@dataclass
class Judgement:
    """One sampled verification of one step."""

    rationale: str
    code: str
    output: str
    sandbox_status: str
    sandbox_reason: str
    p_yes: float
    p_no: float
    score: float
    text: str = ""


@dataclass
class StepJudgement:
    """A step's averaged reward and the samples behind it."""

    step: int
    score: float
    samples: list[Judgement] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def verdict_score(p_yes: float, p_no: float) -> float:
    """p(Yes) / (p(Yes) + p(No)); 0.5 (no opinion) when both are 0."""
    total = float(p_yes) + float(p_no)
    return 0.5 if total <= 0 else float(p_yes) / total


GENPRM_SYSTEM = ("You are a math teacher. Your task is to review and critique the paragraphs in solution "
                 "step by step.")


def genprm_prompt(problem: str, steps: Sequence[str], k: int) -> str:
    """The contract's prompt for step ``k`` (1-based); ``Step i:`` labels already in a step are dropped."""
    plain = [_STEP_LABEL.sub("", str(s)).strip() for s in steps]
    prev = "".join(f"Step {i}: {s}\n" for i, s in enumerate(plain[:k - 1], 1))
    return f"Problem: {problem}\n{prev}Check step {k}: {plain[k - 1]}\n"


def parse_critique(text: str) -> tuple[str, str]:
    """(rationale, code) from ``<analyze>…</analyze>`` and ``<verify>…</verify>`` (empty if absent)."""
    a = re.search(r"<analyze>(.*?)(?:</analyze>|$)", text, re.S)
    v = re.search(r"<verify>\n?(.*?)\n?(?:</verify>|$)", text, re.S)
    return (a.group(1).strip() if a else ""), (v.group(1).strip() if v else "")


def output_block(stdout: str) -> str:
    return f"<output>\n{stdout.strip()[:200]}\n</output>\nVerdict:"


class GenerativePRM:
    """A loaded GenPRM-shape verifier: ``judge_batch`` keeps everything, ``score_batch`` the rewards."""

    kind = "generative"

    def __init__(self, model, tokenizer, descriptor: dict, device: str, name: str = "genprm", seed: int = 0,
                 gen_batch: int = 64) -> None:
        self.model = model.eval()
        self.tok = tokenizer
        self.desc = descriptor
        self.device = torch.device(device)
        self.name = name
        self.seed = int(seed)
        self.gen_batch = int(gen_batch)
        self.yes_id = tokenizer.encode(descriptor["yes_token"], add_special_tokens=False)[0]
        self.no_id = tokenizer.encode(descriptor["no_token"], add_special_tokens=False)[0]
        if self.yes_id == self.no_id:
            raise ValueError(f"{name}: {descriptor['yes_token']!r} and {descriptor['no_token']!r} start with the "
                             "same token")
        from backend.generation.prompting import (PromptParams, has_chat_template, pad_id, resolve,
                                                  stop_ids)

        # the shared prompt layer: a verifier with a chat template gets each judgement as a chat turn
        self.rp = resolve(tokenizer, PromptParams(chat_template=bool(descriptor.get("chat_template", True)),
                                                  system_prompt=str(descriptor.get("system_prompt", GENPRM_SYSTEM)),
                                                  prompt_template="{problem}"))
        self.eos_ids = sorted(stop_ids(tokenizer, getattr(model, "generation_config", None),
                                       has_chat_template(tokenizer)))
        self.pad_id = pad_id(tokenizer, set(self.eos_ids))

    def _wrap(self, text: str) -> str:
        """The contract's prompt, inside the chat template when the verifier has one."""
        from backend.generation.prompting import build_prompt

        return build_prompt(self.tok, text, self.rp) if self.rp.chat_template else text

    def _ids(self, text: str) -> list[int]:
        from backend.generation.prompting import encode_prompt

        return encode_prompt(self.tok, text)

    def _pad(self, seqs: list[list[int]], left: bool) -> tuple[torch.Tensor, torch.Tensor]:
        n = max(len(s) for s in seqs)
        x = torch.full((len(seqs), n), self.pad_id, dtype=torch.long)
        m = torch.zeros((len(seqs), n), dtype=torch.long)
        for i, s in enumerate(seqs):
            sl = slice(n - len(s), n) if left else slice(0, len(s))
            x[i, sl] = torch.tensor(s, dtype=torch.long)
            m[i, sl] = 1
        return x.to(self.device), m.to(self.device)

    @torch.inference_mode()
    def _generate(self, prompts: list[str], chunk_seed: int) -> list[str]:
        ids = [self._ids(p) for p in prompts]
        x, m = self._pad(ids, left=True)
        temp = float(self.desc.get("temperature", 0.6))
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(chunk_seed)
            out = self.model.generate(
                input_ids=x, attention_mask=m, do_sample=temp > 0, temperature=temp if temp > 0 else None,
                top_p=float(self.desc.get("top_p", 0.95)) if temp > 0 else None,
                max_new_tokens=int(self.desc.get("max_new_tokens", 256)), pad_token_id=self.pad_id,
                eos_token_id=self.eos_ids or None,
                stop_strings=[self.desc.get("stop", "</verify>")], tokenizer=self.tok)
        texts = self.tok.batch_decode(out[:, x.shape[1]:], skip_special_tokens=True)
        stop = self.desc.get("stop", "</verify>")
        return [t[:t.index(stop) + len(stop)] if stop in t else t for t in texts]

    @torch.inference_mode()
    def _verdicts(self, texts: list[str]) -> list[tuple[float, float]]:
        out = []
        for s in range(0, len(texts), self.gen_batch):
            ids = [self._ids(t) for t in texts[s:s + self.gen_batch]]
            x, m = self._pad(ids, left=False)
            logits = self.model(input_ids=x, attention_mask=m).logits
            last = m.sum(1) - 1
            p = torch.softmax(logits[torch.arange(len(ids), device=x.device), last].float(), -1).cpu()
            out += [(float(p[i, self.yes_id]), float(p[i, self.no_id])) for i in range(len(ids))]
        return out

    def judge_batch(self, items: Sequence[tuple[str, Sequence[str]]], samples: int | None = None,
                    progress=None, start: Sequence[int] | None = None) -> list[list[StepJudgement]]:
        """Every step of every solution judged ``samples`` times (default: the descriptor's).

        ``start[i]`` (0-based) skips the first steps of solution ``i``: a step's judgement depends
        only on the problem and the steps up to it, so a caller that already has the earlier
        ones (a search extending a prefix) asks for the new steps only."""
        from backend.sandbox import run_python

        n = int(samples or self.desc.get("samples", 1))
        first = list(start) if start is not None else [0] * len(items)
        jobs = [(i, k) for i, (_, steps) in enumerate(items) for k in range(first[i] + 1, len(steps) + 1)]
        prompts = [self._wrap(genprm_prompt(items[i][0], items[i][1], k)) for i, k in jobs for _ in range(n)]
        gens: list[str] = []
        total = max(1, len(prompts))
        for c in range(0, len(prompts), self.gen_batch):
            gens += self._generate(prompts[c:c + self.gen_batch], self.seed * 100003 + c)
            if progress is not None:
                progress(len(gens) * 0.8 / total, f"generated {len(gens)}/{len(prompts)} judgements")
        parsed = [parse_critique(g) for g in gens]
        timeout = float(self.desc.get("sandbox_timeout", 5.0))

        def run(code: str):
            return run_python(code, timeout=timeout) if code else None

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(run, [c for _, c in parsed]))
        texts = [p + g + "\n" + output_block(r.stdout if r else "") for p, g, r in zip(prompts, gens, results)]
        if progress is not None:
            progress(0.9, "reading verdicts")
        verdicts = self._verdicts(texts) if texts else []
        out: list[list[StepJudgement]] = [[] for _ in items]
        for j, (i, k) in enumerate(jobs):
            sams = []
            for r in range(j * n, (j + 1) * n):
                res = results[r]
                py, pn = verdicts[r]
                sams.append(Judgement(parsed[r][0], parsed[r][1], (res.stdout.strip()[:200] if res else ""),
                                      res.status if res else "no code", res.reason if res else "no <verify> block",
                                      py, pn, verdict_score(py, pn), gens[r]))
            out[i].append(StepJudgement(k - 1, sum(s.score for s in sams) / len(sams), sams))
        return out

    def score_batch(self, items: Sequence[tuple[str, Sequence[str]]], progress=None,
                    start: Sequence[int] | None = None) -> list[list[float]]:
        """Step scores; with ``start``, only those of steps ``start[i]`` onwards (see judge_batch)."""
        return [[sj.score for sj in sol] for sol in self.judge_batch(items, progress=progress, start=start)]

    def score(self, problem: str, steps: Sequence[str]) -> list[float]:
        return self.score_batch([(problem, steps)])[0]
