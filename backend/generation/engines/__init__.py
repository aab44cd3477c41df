"""Generation engines: who samples the policy's completions (``--engine hf|vllm|openai``).

Every strategy needs the same four things from a policy, so that is the engine interface:

- ``generate(prompts, seeds, SamplingParams, *, batch_size=, share_prefix=, should_stop=)``
  returns one :class:`~backend.generation.policy.Completion` per row (text, tokens, finish in
  ``eos``/``step``/``stop``/``length``), a row's output depending only on its prompt, its seed
  and the settings;
- ``tokenizer``: the policy's own, so prompts come from our prompt layer (chat template) whatever
  the engine;
- ``stats``: a :class:`~backend.generation.policy.GenerationStats` (tokens, time) for budgets.

``hf`` is :class:`~backend.generation.policy.Policy` itself (unchanged), ``vllm`` is vLLM in this
process, ``openai`` a running OpenAI-compatible server. Torch is imported only when an engine
is loaded. See docs/scale.md for what each engine reproduces.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

from backend.generation.engines.params import (ENGINE_KEYS, ENGINES, EngineParams, engine_spec_params,
                                               split_engine_params)

__all__ = ["ENGINES", "ENGINE_KEYS", "Engine", "EngineParams", "engine_spec_params", "load_engine",
           "load_tokenizer", "split_engine_params"]


class Engine(Protocol):
    """What a strategy uses of a policy (see the module docstring)."""

    tokenizer: Any
    stats: Any

    def generate(self, prompts: list[str], seeds: list[int], params: Any, *, batch_size: int = 64,
                 share_prefix: bool = True, should_stop: Callable[[], None] | None = None) -> list[Any]: ...


def load_tokenizer(model_path: str | Path) -> Any:
    """The tokenizer of a model folder or ``zoo:NAME`` (no weights loaded)."""
    from transformers import AutoTokenizer

    from backend.generation.policy import resolve_model_path

    return AutoTokenizer.from_pretrained(resolve_model_path(model_path))


def load_engine(params: EngineParams | dict | None, model_path: str | Path, device: str = "cpu",
                dtype: str | None = "auto", gpu_memory_utilization: float = 0.85) -> Engine:
    """The engine ``params`` names for the policy at ``model_path``.

    ``hf`` loads the weights onto ``device`` (a :class:`Policy`); ``vllm`` loads them into vLLM
    (refused with the missing piece named when vLLM or a CUDA GPU is absent); ``openai`` reads only
    the tokenizer from ``model_path`` and sends prompts to ``params.base_url``.
    ``gpu_memory_utilization`` is vLLM's share of the GPU (lower it when the process keeps another
    model on the same GPU).
    """
    if params is None:
        params = EngineParams()
    elif isinstance(params, dict):
        params = EngineParams.from_params(params)
    else:
        params.validate()
    if params.engine == "hf":
        from backend.generation.policy import Policy

        return Policy.load(model_path, device, dtype)
    if params.engine == "vllm":
        from backend.generation.engines.vllm_engine import VLLMEngine

        return VLLMEngine(model_path, device if str(device) != "auto" else "cuda", dtype, gpu_memory_utilization)
    from backend.generation.engines.openai_engine import OpenAIEngine

    return OpenAIEngine(load_tokenizer(model_path), params.base_url, params.model, params.key(),
                        params.max_concurrency, params.request_timeout)
