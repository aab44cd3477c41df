"""Beam search over identifiers, constrained by the trie or free (the ablation), with a trace.

Written out rather than via ``generate(prefix_allowed_tokens_fn=...)`` so that each step's beams,
the tokens the trie allowed them and the tokens they took can be shown in the panel. Scores are
the model's own log-probabilities (log-softmax over the whole vocabulary, then the trie mask, as
HF's ``prefix_allowed_tokens_fn`` does), summed over the identifier; the search stops when no
live beam can beat the worst of the ``beams`` finished ones, so the ranking is exact for the beam.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from backend.retrieval.trie import Trie


@dataclass
class Hit:
    tokens: list[int]
    score: float
    doc_id: str | None          # None: the sequence is not a real identifier (unconstrained only)
    text: str = ""


@dataclass
class SearchResult:
    hits: list[Hit]
    trace: list[list[dict]] = field(default_factory=list)   # per step, per live beam


def beam_search(model, tok, prompt: list[int], trie: Trie, beams: int, constrained: bool = True,
                max_len: int | None = None, trace: bool = False, trace_top: int = 8) -> SearchResult:
    """Top-``beams`` identifier sequences for one prompt (see the module docstring)."""
    import torch

    eos = tok.eos_token_id
    max_len = max_len or (trie.depth() + (0 if constrained else 4))
    live: list[tuple[list[int], float]] = [([], 0.0)]
    finished: list[tuple[list[int], float]] = []
    steps: list[list[dict]] = []
    with torch.inference_mode():
        # the prompt is encoded once; each step feeds only the beams' last tokens through the KV cache
        out = model(input_ids=torch.tensor([prompt], dtype=torch.long, device=model.device), use_cache=True)
        cache, logits = _cache_of(out), out.logits[:, -1, :]
        for _ in range(max_len):
            if not live:
                break
            logp = torch.log_softmax(logits.float(), dim=-1)
            cands: list[tuple[float, list[int], int]] = []
            rows = []
            for i, (g, s) in enumerate(live):
                if constrained:
                    allowed = trie.allowed(g)
                    if not allowed:
                        continue
                    vals = logp[i, allowed]
                    k = min(beams, len(allowed))
                    top_v, top_i = vals.topk(k)
                    picks = [(allowed[j], float(v)) for v, j in zip(top_v.tolist(), top_i.tolist())]
                else:
                    allowed = None
                    top_v, top_i = logp[i].topk(beams)
                    picks = list(zip(top_i.tolist(), top_v.tolist()))
                cands += [(s + v, g + [t], i) for t, v in picks]
                if trace:
                    shown = picks[:trace_top]
                    rows.append({"prefix": tok.decode(g), "score": round(s, 4),
                                 "allowed": None if allowed is None else len(allowed),
                                 "next": [{"token": _show(tok, t, eos), "logp": round(v, 4)} for t, v in shown]})
            cands.sort(key=lambda c: -c[0])
            live, parents = [], []
            for score, g, parent in cands:
                if g[-1] == eos:
                    finished.append((g, score))
                elif len(live) < beams:
                    live.append((g, score))
                    parents.append(parent)
                if len(live) >= beams and len(finished) >= beams:
                    break
            if trace:
                steps.append(rows)
            finished.sort(key=lambda f: -f[1])
            finished = finished[:beams]
            if len(finished) >= beams and (not live or live[0][1] <= finished[-1][1]):
                break
            if live:
                cache.reorder_cache(torch.tensor(parents, dtype=torch.long, device=model.device))
                out = model(input_ids=torch.tensor([[g[-1]] for g, _ in live], dtype=torch.long,
                                                 device=model.device),
                            use_cache=True, **{_cache_kw(model): cache})
                cache, logits = _cache_of(out), out.logits[:, -1, :]
    if not constrained:   # beams cut by max_len are returned too: they are invalid outputs
        finished += live
    finished.sort(key=lambda f: -f[1])
    hits = [Hit(g, s, trie.lookup(g), tok.decode([t for t in g if t != eos]).strip()) for g, s in finished[:beams]]
    return SearchResult(hits, steps)


def _cache_kw(model) -> str:
    """Newer transformers name the KV-cache argument ``cache``; older ones ``past_key_values``."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _cache_of(out):
    cache = out.get("cache") if hasattr(out, "get") else None
    return cache if cache is not None else out.past_key_values


def _show(tok, t: int, eos: int) -> str:
    return "⏎" if t == eos else tok.decode([t])
