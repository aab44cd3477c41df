"""The settings that choose a generation engine (``--engine``, ``--base-url``, ``--model``, ...).

Torch-free so a CLI can build its options without importing torch. ``api_key`` is a secret: it
never enters a JobSpec (which is written into the run's record); :func:`engine_spec_params`
moves it into this process's environment and the job reads it back from there.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from backend.params import Params, param

ENGINES = ("hf", "vllm", "openai")
KEY_ENV = "BENCHTOP_ENGINE_API_KEY"       # where the key travels from the CLI to the job
REDACTED = "<redacted>"


@dataclass
class EngineParams(Params):
    """Which engine samples from the policy (or the generative PRM) and how to reach it."""

    label = "engine setting"
    engine: str = param("hf", title="Engine", choices=ENGINES,
                        help="hf: transformers in this process; vllm: vLLM in this process (needs vllm and a "
                             "CUDA GPU); openai: a running OpenAI-compatible server (--base-url)")
    base_url: str = param("", title="Server URL",
                          help="openai engine: the server's base URL, e.g. http://127.0.0.1:8000/v1")
    model: str = param("", title="Served model",
                       help="openai engine: the model name the server serves (empty: the first of /v1/models)")
    api_key: str = param("", title="API key",
                         help="openai engine: sent as a Bearer token (default: $OPENAI_API_KEY); never written "
                              "into run records")
    max_concurrency: int = param(32, title="Concurrent requests", min=1, max=256, advanced=True,
                                 help="openai engine: requests in flight at once")
    request_timeout: float = param(300.0, title="Request timeout (s)", min=0.0, min_exclusive=True, advanced=True,
                                   help="openai engine: seconds to wait for one completion")

    def check(self) -> None:
        if self.engine == "openai" and not self.base_url:
            self.fail("base_url", "is needed by the openai engine (e.g. http://127.0.0.1:8000/v1)")
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            self.fail("base_url", "must start with http:// or https://")

    def key(self) -> str:
        """The API key to send: the given one, else the one the CLI stashed, else ``$OPENAI_API_KEY``."""
        if self.api_key and self.api_key != REDACTED:
            return self.api_key
        return os.environ.get(KEY_ENV) or os.environ.get("OPENAI_API_KEY", "")

    def worker_dict(self) -> dict:
        """The settings a shard in another process (a Ray worker) rebuilds the engine from: the key
        resolved here, since a worker may not share this process's environment. Kept in memory
        with the shard's work, never written into a run record (record :meth:`public_dict`)."""
        d = self.to_dict()
        d["api_key"] = self.key() if self.engine == "openai" else ""
        return d

    def public_dict(self) -> dict:
        """``to_dict`` with the key redacted (what may be recorded or shown)."""
        d = self.to_dict()
        if d.get("api_key"):
            d["api_key"] = REDACTED
        return d


ENGINE_KEYS = tuple(i.name for i in EngineParams.describe())


def split_engine_params(params: dict) -> tuple[EngineParams, dict]:
    """The engine settings of a job's params (validated) and the rest."""
    mine = {k: v for k, v in params.items() if k in ENGINE_KEYS}
    rest = {k: v for k, v in params.items() if k not in ENGINE_KEYS}
    return EngineParams.from_params(mine), rest


def engine_spec_params(given: dict, device: str | None = None) -> dict:
    """The engine options a user gave, ready for a JobSpec: validated (``vllm`` refused here when
    this machine cannot run it), and the API key moved out of the spec into this process's
    environment (jobs run in this process or its children)."""
    chosen = EngineParams.from_params(given)      # a bad URL or engine fails before a run is recorded
    if chosen.engine == "vllm":
        from backend.generation.engines.vllm_engine import vllm_missing

        why = vllm_missing(device or "cuda")
        if why:
            raise ValueError(why)
    out = dict(given)
    key = out.pop("api_key", "")
    if key and key != REDACTED:
        os.environ[KEY_ENV] = key
        out["api_key"] = REDACTED
    return out
