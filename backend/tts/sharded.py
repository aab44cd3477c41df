"""TTS work as shards: what every shard needs, the shard function, and gathering.

A shard is (piece of the sweep, run of problems): see :func:`backend.tts.sweep.sweep_parts`.
The policy (through ``load_engine``: hf, vllm or a served model) and the PRM are loaded once per
process (``backend.scale.worker.memo``), so a Ray worker that runs several shards loads them once.
Every sample's seed derives from (run seed, problem index, strategy, position), so a shard's
results do not depend on which shard, executor or worker ran it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backend.scale.shards import Shard


@dataclass
class TTSWork:
    """Everything a shard needs (sent once to every Ray worker)."""

    policy: str                       # resolved model folder
    prm: str | None                   # resolved PRM folder, reference:arithmetic or None
    device: str
    settings: dict                    # the validated search settings (TTSParams.search_dict())
    prompt: dict                      # the validated prompt settings (PromptParams.to_dict())
    problems: list                    # every Problem (a shard picks its own by index)
    strategies: list[str] = field(default_factory=list)
    ns: list[int] = field(default_factory=list)
    engine: dict = field(default_factory=dict)   # EngineParams.worker_dict(): who samples the policy


def _models(work: TTSWork, cfg: Any) -> tuple[Any, Any]:
    from backend.generation.engines import EngineParams, load_engine
    from backend.scale.worker import memo
    from backend.tts.scoring import load_scorer

    engine = EngineParams.from_params(dict(work.engine))
    which = tuple(sorted(engine.public_dict().items()))      # the key stays out of the memo's key
    policy = memo(("tts.policy", work.policy, work.device, cfg.dtype, which),
                  lambda: load_engine(engine, work.policy, work.device, cfg.dtype))
    scorer = memo(("tts.prm", work.prm, work.device, cfg.preset()),
                  lambda: load_scorer(work.prm, work.device, preset=cfg.preset()))
    return policy, scorer


def searcher_for(work: TTSWork) -> Any:
    """A Searcher over the process's cached models (cheap: models are memoised), built from the
    settings exactly as a one-process run builds it."""
    from backend.generation.prompting import PromptParams
    from backend.scale import worker
    from backend.tts.params import TTSParams
    from backend.tts.strategies import Searcher

    cfg = TTSParams.from_params(dict(work.settings))
    policy, scorer = _models(work, cfg)
    return Searcher(policy, scorer, cfg, should_stop=worker.should_stop,
                    prompt=PromptParams.from_params(dict(work.prompt)))


def tts_shard(work: TTSWork, shard: Shard) -> dict:
    """Run one piece of the sweep (``shard.part``) on the shard's problems."""
    from backend.scale import worker
    from backend.tts.sweep import run_part

    searcher = searcher_for(work)
    before = searcher.policy.stats.to_dict()
    problems = [work.problems[i] for i in shard.items]
    part = shard.part
    piece: dict[str, Any]
    if part.startswith("run:"):          # tts run: one strategy at the config's budget
        piece = {"runs": {part[4:]: {searcher.cfg.n: searcher.run(part[4:], problems, worker.report)}}}
    else:
        piece = run_part(searcher, part, problems, work.strategies, work.ns, worker.report)
    after = searcher.policy.stats.to_dict()
    piece["stats"] = {k: after[k] - before[k] for k in after}
    piece["prm_seconds"] = searcher.prm_seconds
    piece["engine"] = str(getattr(searcher.policy, "name", "hf"))
    if shard.index == 0:   # the resolved prompt settings and the first problem's prompt as the policy saw it
        piece["prompt"] = {**searcher.rp.to_dict(), "example": searcher.prompt(work.problems[0])}
    return piece


def sum_stats(pieces: list[dict]) -> dict:
    """Generation totals over every shard (each shard reports its own delta)."""
    out: dict[str, float] = {}
    for p in pieces:
        for k, v in p["stats"].items():
            out[k] = out.get(k, 0) + v
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in out.items()}
