"""``--engine`` for PRMs: a generative PRM's critiques from vLLM or an OpenAI-compatible server.

Only the critique generation moves (it is where a GenPRM spends its time); the verdict
p(Yes)/(p(Yes)+p(No)) is still read from the verifier loaded in this process, because it needs
the next-token distribution, which completion servers report only as a top-k of log-probs.
A discriminative PRM generates nothing, so any engine but ``hf`` is refused for it.
"""
from __future__ import annotations

from typing import Any

from backend.generation.engines.params import EngineParams


def prm_engine(prm: Any, prm_path: str, device: str, engine: EngineParams, dtype: str = "auto") -> None:
    """Attach the engine ``engine`` names to a loaded generative ``prm`` (``hf``: nothing to do)."""
    from backend.generation.engines import load_engine

    if engine.engine == "hf":
        return
    if getattr(prm, "kind", "") != "generative":
        raise ValueError(f"--engine {engine.engine}: {prm_path} is a discriminative PRM (it scores steps "
                         "without generating); use --engine hf")
    # vLLM shares the GPU with the verifier copy that reads the verdicts
    prm.engine = load_engine(engine, prm_path, device, dtype, gpu_memory_utilization=0.5)
