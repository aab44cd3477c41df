"""PRM-guided tree search, one step (line) at a time: beam search and DVTS.

Beam search (N, beam width M): the first iteration samples N first steps; the PRM scores every
prefix; finished ones are set aside, the best N/M unfinished prefixes survive and each is
expanded M times. DVTS (diverse verifier tree search): N/M independent subtrees; each expands
its current node M times and moves greedily to the best child, so subtrees never compete and
stay diverse. Both stop when ``max_steps`` is reached (the last iteration writes each path to
its end in one go), when nothing is left to expand, or (beam) when N beams have finished.

A step that hits ``step_tokens`` without a delimiter is dropped (``truncated``), as in
compute-optimal-tts. Every node is recorded (``tree``) with its step, score, aggregated score
and fate (``kept``, ``pruned``, ``final``, ``truncated``) for the panel's drill-down.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backend.generation.sampling import derive_seed
from backend.tts.data import Problem
from backend.tts.scoring import aggregate, split_steps
from backend.tts.selection import extract, finish
from backend.tts.types import Budget, Candidate, ProblemResult

if TYPE_CHECKING:
    from backend.tts.strategies import Searcher

_FINAL_STEP = re.compile(r"^\s*(Answer:|The answer is|Final answer)|\\boxed\{", re.IGNORECASE)


@dataclass
class _Beam:
    text: str = ""
    node: int = -1
    tokens: int = 0
    sub: int = 0


@dataclass
class _State:
    active: list[tuple[_Beam, int]]           # (beam, how many children to sample)
    done: list[Candidate] = field(default_factory=list)
    tree: list[dict] = field(default_factory=list)
    budget: Budget = field(default_factory=Budget)


def tree_search(searcher: Searcher, strategy: str, problems: list[Problem], n: int, m: int,
                progress: Callable[[float, str], None] | None = None) -> list[ProblemResult]:
    """Beam search (``strategy="beam"``) or DVTS (``"dvts"``) at budget ``n`` with width ``m``."""
    cfg = searcher.cfg
    m = max(1, min(m, n))
    keep = max(1, n // m)
    if strategy == "beam":
        states = [_State([(_Beam(), n)]) for _ in problems]
    else:
        states = [_State([(_Beam(sub=k), m) for k in range(keep)]) for _ in problems]
    for it in range(cfg.max_steps):
        last = it == cfg.max_steps - 1
        rp = searcher.rp
        params = searcher.sampling(cfg.temperature, rp.max_tokens if last else rp.step_tokens, not last)
        rows = [(pi, beam, j) for pi, s in enumerate(states) for beam, k in s.active for j in range(k)]
        if not rows:
            break
        prompts = [searcher.prompt(problems[pi], beam.text) for pi, beam, _ in rows]
        seeds = [derive_seed(cfg.seed, problems[pi].index, strategy, it, beam.sub, beam.node, j)
                 for pi, beam, j in rows]
        outs = searcher._generate(prompts, seeds, params)

        children: list[list[tuple[_Beam, dict, Candidate | None]]] = [[] for _ in states]
        to_score, owners = [], []
        for (pi, beam, _j), o in zip(rows, outs):
            st = states[pi]
            st.budget.tokens += o.tokens
            st.budget.samples += 1
            text = beam.text + o.text
            step = o.text.strip()
            node = {"id": len(st.tree), "parent": beam.node, "depth": it, "sub": beam.sub, "step": step,
                    "tokens": o.tokens, "score": None, "agg": None, "status": "pruned", "answer": None}
            st.tree.append(node)
            if o.finish == "length" and not last:
                node["status"] = "truncated"
                continue
            finished = last or o.finish == "eos" or not step or bool(_FINAL_STEP.search(step))
            child = _Beam(text, node["id"], beam.tokens + o.tokens, beam.sub)
            cand = Candidate(text, split_steps(text, rp.delimiter), extract(text), child.tokens, o.finish,
                             node=node["id"]) if finished else None
            children[pi].append((child, node, cand))
            to_score.append((problems[pi], split_steps(text, rp.delimiter)))
            owners.append((pi, node, cand))
        budgets = [states[pi].budget for pi, _, _ in owners]
        for (pi, node, cand), scores in zip(owners, searcher.score(to_score, budgets)):
            node["score"] = scores[-1] if scores else None
            node["agg"] = aggregate(scores, cfg.agg)
            if cand is not None:
                cand.scores, cand.score = scores, node["agg"]
                node["answer"] = cand.answer
        for st, kids in zip(states, children):
            st.active = _advance(strategy, st, kids, keep, m, n)
        if progress is not None:
            progress((it + 1) / cfg.max_steps, f"{strategy} N={n}: step {it + 1}/{cfg.max_steps}")
    return [finish(p, strategy, n, st.done, st.budget, st.tree) for p, st in zip(problems, states)]


def _advance(strategy: str, st: _State, kids, keep: int, m: int, n: int) -> list[tuple[_Beam, int]]:  # noqa: ANN001
    """Record finished children, pick the nodes to expand next and mark every node's fate."""
    for _, node, cand in kids:
        if cand is not None:
            node["status"] = "final"
            st.done.append(cand)
    open_kids = [(b, node) for b, node, cand in kids if cand is None]
    if strategy == "beam":
        if len(st.done) >= n:
            return []
        ranked = sorted(open_kids, key=lambda bn: -(bn[1]["agg"] or 0.0))  # stable: first sampled wins ties
        for b, node in ranked[:keep]:
            node["status"] = "kept"
        return [(b, m) for b, _ in ranked[:keep]]
    nxt = []
    for sub in sorted({node["sub"] for _, node, _ in kids}):
        mine = [(b, node, c) for b, node, c in kids if node["sub"] == sub]
        best = max(mine, key=lambda t: t[1]["agg"] or 0.0)  # first on ties
        if best[2] is None:
            best[1]["status"] = "kept"
            nxt.append((best[0], m))
    return nxt
