"""The ``vllm`` engine: vLLM in this process (needs the ``vllm`` package and a CUDA GPU).

Written against vLLM's documented offline API: ``LLM(model=..., dtype=..., seed=...)`` and
``LLM.generate(prompts, [SamplingParams(n=1, seed=..., stop=..., max_tokens=...), ...])`` with one
SamplingParams per row, so each row keeps its own seed. Prompts go in as token ids made by our
prompt layer (``{"prompt_token_ids": ids}``), so vLLM adds no second BOS to a chat prompt. The
stop string it matched is kept in the text (``include_stop_str_in_output``), as the hf engine
does. Samples are vLLM's own: the same seed gives a different sample than the hf engine.
"""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any, Callable

from backend.generation.policy import Completion, GenerationStats, SamplingParams


class EngineUnavailable(RuntimeError):
    """An engine that cannot run here (the message says what is missing)."""


def vllm_missing(device: str = "cuda") -> str:
    """Why the vllm engine cannot run here ('' when it can)."""
    missing = []
    if importlib.util.find_spec("vllm") is None:
        missing.append("the vllm package is not installed (pip install vllm)")
    if str(device).startswith(("cpu", "mps")):
        missing.append(f"device {device!r} is not a CUDA GPU")
    else:
        import torch

        if not torch.cuda.is_available():
            missing.append("no CUDA GPU is visible")
    if not missing:
        return ""
    return "the vllm engine needs vLLM and a CUDA GPU: " + "; ".join(missing) + \
        " (use --engine hf, or --engine openai against a running server)"


def _vllm_dtype(dtype: str | None) -> str:
    if dtype in (None, "auto"):
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    table = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
    return table.get(str(dtype), str(dtype))


class VLLMEngine:
    """vLLM's ``LLM`` with our tokenizer's prompts, stop rules and per-row seeds."""

    name = "vllm"

    def __init__(self, model_path: str | Path, device: str = "cuda", dtype: str | None = "auto",
                 gpu_memory_utilization: float = 0.85) -> None:
        why = vllm_missing(device)
        if why:
            raise EngineUnavailable(why)
        from transformers import AutoTokenizer
        from vllm import LLM

        from backend.generation.policy import resolve_model_path
        from backend.generation.prompting import has_chat_template, stop_ids

        folder = resolve_model_path(model_path)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.llm = LLM(model=str(folder), tokenizer=str(folder), dtype=_vllm_dtype(dtype), seed=0,
                       gpu_memory_utilization=gpu_memory_utilization)
        self.eos_ids = sorted(stop_ids(self.tokenizer, None, has_chat_template(self.tokenizer)))
        self.stats = GenerationStats()
        self.stats.extra["engine"] = "vllm"

    def _params(self, seed: int, params: SamplingParams) -> Any:
        from vllm import SamplingParams as VSampling

        stops = ([params.delimiter] if params.stop_at_delimiter else []) + [s for s in params.stop if s]
        greedy = params.temperature <= 0
        return VSampling(n=1, seed=int(seed) % (1 << 63), temperature=0.0 if greedy else float(params.temperature),
                         top_p=1.0 if greedy else float(params.top_p), max_tokens=max(1, int(params.max_new_tokens)),
                         stop=stops or None, stop_token_ids=self.eos_ids or None, include_stop_str_in_output=True,
                         skip_special_tokens=True)

    def generate(self, prompts: list[str], seeds: list[int], params: SamplingParams, *, batch_size: int = 64,
                 share_prefix: bool = True, should_stop: Callable[[], None] | None = None) -> list[Completion]:
        """One completion per (prompt, seed) row, in order; vLLM batches (and shares prefixes) itself,
        so rows go in chunks of at least 256 and cancel is checked between chunks."""
        from backend.generation.prompting import encode_prompt

        if len(prompts) != len(seeds):
            raise ValueError(f"{len(prompts)} prompts but {len(seeds)} seeds")
        out: list[Completion] = []
        chunk = max(256, int(batch_size))
        t0 = time.perf_counter()
        for s in range(0, len(prompts), chunk):
            if should_stop is not None:
                should_stop()
            ids = [encode_prompt(self.tokenizer, p) for p in prompts[s:s + chunk]]
            sps = [self._params(seed, params) for seed in seeds[s:s + chunk]]
            results = self.llm.generate([{"prompt_token_ids": i} for i in ids], sps, use_tqdm=False)
            for res, prompt_ids in zip(results, ids):
                c = res.outputs[0]
                out.append(Completion(c.text, len(c.token_ids), self._finish(c, params)))
                self.stats.prompt_tokens += len(prompt_ids)
                self.stats.prefill_tokens += len(prompt_ids)
        self.stats.calls += 1
        self.stats.rows += len(prompts)
        self.stats.generated_tokens += sum(c.tokens for c in out)
        self.stats.decode_seconds += time.perf_counter() - t0
        return out

    @staticmethod
    def _finish(c: Any, params: SamplingParams) -> str:
        """vLLM's finish_reason/stop_reason as eos/step/stop/length."""
        if c.finish_reason == "length":
            return "length"
        if isinstance(c.stop_reason, str):
            return "step" if params.stop_at_delimiter and c.stop_reason == params.delimiter else "stop"
        return "eos"
