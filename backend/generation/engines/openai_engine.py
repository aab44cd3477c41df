"""The ``openai`` engine: completions from a running OpenAI-compatible server (vLLM, SGLang, TGI,
``python main.py serve``).

The prompt is built here by our prompt layer (chat template, system prompt, template) and sent
as text to ``/v1/completions``, one request per row with that row's ``seed``, so the same
(prompt, seed) gives the same sample on a server that honours ``seed``. A step is a ``stop`` on
the step delimiter; servers strip the stop string they matched, so it is put back and
``Completion.text`` reads as the hf engine's. Token counts come from the server's ``usage``.

Requests run concurrently (``max_concurrency``); cancel is checked between requests; connection
errors are retried and end in one error naming the URL.
"""
from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Callable

from backend.generation.engines.http_client import EngineError, request_json
from backend.generation.policy import Completion, GenerationStats, SamplingParams


def stop_strings(params: SamplingParams) -> list[str]:
    """The ``stop`` list a request carries: the delimiter when stepping, then the stop strings."""
    out = [params.delimiter] if params.stop_at_delimiter and params.delimiter else []
    return out + [s for s in params.stop if s and s not in out]


def read_choice(choice: dict, usage: dict, params: SamplingParams, stops: list[str]) -> Completion:
    """A :class:`Completion` from one choice: the matched stop string re-appended, the finish
    reason mapped to eos/step/stop/length, the token count from ``usage``.

    Which stop matched comes from ``stop_reason`` (vLLM, ``serve``) or ``matched_stop`` (SGLang);
    a server that reports neither and strips the stop makes a stop look like an EOS (documented).
    """
    text = str(choice.get("text") or "")
    reason = choice.get("finish_reason")
    matched = choice.get("stop_reason", choice.get("matched_stop"))
    tokens = int(usage.get("completion_tokens", 0) or 0)
    if reason == "length":
        return Completion(text, tokens, "length")
    if reason != "stop":
        raise EngineError(f"the server ended a completion with finish_reason={reason!r}")
    if not isinstance(matched, str) or matched not in stops:
        kept = [s for s in stops if text.endswith(s)]      # a server that keeps the stop string
        matched = max(kept, key=len) if kept else None
    elif not text.endswith(matched):
        text += matched
    if matched is None:
        return Completion(text, tokens, "eos")
    stepping = params.stop_at_delimiter and matched == params.delimiter
    return Completion(text, tokens, "step" if stepping else "stop")


class OpenAIEngine:
    """Completions from an OpenAI-compatible server; ``tokenizer`` is the policy's own (local)."""

    name = "openai"

    def __init__(self, tokenizer: Any, base_url: str, model: str = "", api_key: str = "", max_concurrency: int = 32,
                 request_timeout: float = 300.0, retries: int = 3) -> None:
        self.tokenizer = tokenizer
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.max_concurrency = max(1, int(max_concurrency))
        self.timeout = float(request_timeout)
        self.retries = int(retries)
        self.stats = GenerationStats()
        self.stats.extra.update(engine="openai", base_url=self.base_url, requests=0)
        self.model = model or self._first_model()

    def _call(self, path: str, body: dict | None = None) -> dict:
        return request_json(self.base_url, path, body, api_key=self.api_key, timeout=self.timeout,
                            retries=self.retries)

    def models(self) -> list[str]:
        """The ids ``/models`` lists."""
        data = self._call("/models").get("data") or []
        return [str(m.get("id")) for m in data if isinstance(m, dict) and m.get("id")]

    def _first_model(self) -> str:
        names = self.models()
        if not names:
            raise EngineError(f"{self.base_url}/models lists no model; pass --model NAME")
        return names[0]

    def _body(self, prompt: str, seed: int, params: SamplingParams, stops: list[str]) -> dict:
        body = {"model": self.model, "prompt": prompt, "n": 1, "seed": int(seed),
                "temperature": float(params.temperature), "top_p": float(params.top_p),
                "max_tokens": int(params.max_new_tokens)}
        if stops:
            body["stop"] = stops
        return body

    def _one(self, body: dict, params: SamplingParams, stops: list[str]) -> tuple[Completion, int]:
        resp = self._call("/completions", body)
        choices = resp.get("choices") or []
        if not choices:
            raise EngineError(f"{self.base_url}/completions answered without choices")
        usage = resp.get("usage") or {}
        return read_choice(choices[0], usage, params, stops), int(usage.get("prompt_tokens", 0) or 0)

    def generate(self, prompts: list[str], seeds: list[int], params: SamplingParams, *, batch_size: int = 64,
                 share_prefix: bool = True, should_stop: Callable[[], None] | None = None) -> list[Completion]:
        """One completion per (prompt, seed) row, in order. ``batch_size`` and ``share_prefix`` are the
        server's business (it batches concurrent requests itself) and are ignored here."""
        if len(prompts) != len(seeds):
            raise ValueError(f"{len(prompts)} prompts but {len(seeds)} seeds")
        stops = stop_strings(params)
        out: list[Completion | None] = [None] * len(prompts)
        prompt_tokens = 0
        t0 = time.perf_counter()
        pool = ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="openai-engine")
        pending: dict[Future, int] = {}
        try:
            nxt = 0
            while nxt < len(prompts) or pending:
                while nxt < len(prompts) and len(pending) < self.max_concurrency:
                    if should_stop is not None:
                        should_stop()                      # cancel between requests
                    body = self._body(prompts[nxt], seeds[nxt], params, stops)
                    pending[pool.submit(self._one, body, params, stops)] = nxt
                    nxt += 1
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in done:
                    row = pending.pop(fut)
                    out[row], used = fut.result()
                    prompt_tokens += used
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        st = self.stats
        st.calls += 1
        st.rows += len(prompts)
        st.prompt_tokens += prompt_tokens
        st.prefill_tokens += prompt_tokens
        st.generated_tokens += sum(c.tokens for c in out if c is not None)
        st.decode_seconds += time.perf_counter() - t0
        st.extra["requests"] = st.extra.get("requests", 0) + len(prompts)
        return [c for c in out if c is not None]
