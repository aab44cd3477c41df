"""Jobs ``prm.score`` (score solutions with one PRM, or two to compare) and ``prm.processbench``.

Params: the settings of :class:`~backend.prm.params.PRMScoreParams` or
:class:`~backend.prm.params.ProcessBenchParams` plus the PRM names (``prm``, ``prm_b``) and the
data kept in params (``items``, ``out``), split by ``backend.prm.params.parse_params``.

Heavy imports stay inside the functions (job modules are imported when the GUI looks up kinds).
"""
from __future__ import annotations

import json
from pathlib import Path

from typing import Any

from backend.jobs import register_job
from backend.prm.params import PRMParams, PRMScoreParams, ProcessBenchParams, parse_params

CHUNK = 16
INLINE_LIMIT = 200  # records kept in the result itself (the panel redraws from it)


def _score_all(prm: Any, items: list, ctx: Any, lo: float, hi: float, label: str) -> tuple[list[list[float]], list]:
    """Scores (and generative judgements) in chunks, reporting progress and honouring cancel."""
    scores: list[list[float]] = []
    judged: list[list[dict] | None] = []
    for s in range(0, len(items), CHUNK):
        ctx.check_cancelled()
        chunk = items[s:s + CHUNK]
        if getattr(prm, "kind", "") == "generative":
            js = prm.judge_batch(chunk)
            judged += [[j.to_dict() for j in sol] for sol in js]
            scores += [[j.score for j in sol] for sol in js]
        else:
            scores += prm.score_batch(chunk)
            judged += [None] * len(chunk)
        done = min(len(items), s + CHUNK)
        ctx.progress(lo + (hi - lo) * done / max(1, len(items)), f"{label}: scored {done}/{len(items)} solutions")
    return scores, judged


def _summary(scores: list[float], threshold: float) -> dict:
    from backend.prm.steps import AGGREGATIONS, aggregate, first_error

    return {"step_scores": scores, "first_error": first_error(scores, threshold),
            "aggregates": {a: aggregate(scores, a) for a in AGGREGATIONS} if scores else {}}


def _load(spec_prm: str, device: str, settings: PRMParams) -> Any:
    """The PRM with the settings applied (a generative verifier's sampling, the batch size)."""
    from backend.prm import load_prm

    prm = load_prm(spec_prm, device, dtype=settings.dtype, preset=settings.preset_name())
    if getattr(prm, "kind", "") == "generative":
        prm.seed, prm.gen_batch = settings.seed, settings.batch_size
        if settings.samples:
            prm.desc["samples"] = settings.samples
        if settings.max_new_tokens:
            prm.desc["max_new_tokens"] = settings.max_new_tokens
    else:
        prm.max_batch = settings.batch_size
    return prm


@register_job("prm.score", title="PRM: score solution steps")
def score_job(spec: Any, ctx: Any) -> dict:
    """Score every step of each solution (``inputs['input']`` JSONL or ``params['items']``) with
    ``params['prm']`` and optionally ``params['prm_b']`` (side-by-side comparison)."""
    from backend.prm.records import check_solution, read_jsonl
    from backend.workspace.atomic import atomic_write_text

    settings, p = parse_params(PRMScoreParams, spec.params)
    threshold = settings.threshold

    def check(obj: dict) -> dict:
        return check_solution(obj, settings.split, settings.pattern or None)

    if spec.inputs.get("input"):
        loaded = read_jsonl(spec.inputs["input"], check)
        records, errors = loaded.records, loaded.errors
    else:
        records, errors = [], []
        for n, obj in enumerate(p.get("items") or [], 1):
            try:
                records.append({**check(obj), "_line": n})
            except ValueError as exc:
                errors.append(f"item {n}: {exc}")
    for e in errors:
        ctx.log(f"skipped {e}")
    if not records:
        raise ValueError("no valid solutions to score" + (f" ({len(errors)} bad: {errors[0]})" if errors else ""))
    items = [(r["problem"], r["steps"]) for r in records]
    names = [n for n in (p.get("prm"), p.get("prm_b")) if n]
    if not names:
        raise ValueError("params.prm: no PRM given")
    outs = []
    for k, name in enumerate(names):
        ctx.progress(k / len(names), f"loading {name}")
        prm = _load(name, ctx.device, settings)
        scores, judged = _score_all(prm, items, ctx, (k + 0.1) / len(names), (k + 1) / len(names), str(name))
        outs.append({"prm": str(name), "kind": prm.kind, "scores": scores, "judged": judged})
        del prm
    rows = []
    for i, r in enumerate(records):
        row = {k: v for k, v in r.items() if k != "_line"}
        row["line"] = r["_line"]
        for tag, o in zip(("", "b"), outs):
            res = {"prm": o["prm"], "kind": o["kind"], **_summary(o["scores"][i], threshold)}
            if o["judged"][i] is not None:
                res["judgements"] = o["judged"][i]
            if tag:
                row["b"] = res
            else:
                row.update(res)
        rows.append(row)
    out = Path(p.get("out") or ctx.path("scores.jsonl"))
    if spec.inputs.get("input") and out.resolve() == Path(spec.inputs["input"]).resolve():
        raise ValueError(f"--out {out} is the input file; choose another path (inputs are never modified)")
    atomic_write_text(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    ctx.artifact("scores", out)
    ctx.progress(1.0, f"scored {len(rows)} solutions")
    return {"prms": [o["prm"] for o in outs], "kinds": [o["kind"] for o in outs], "n": len(rows), "out": str(out),
            "threshold": threshold, "errors": errors, "records": rows[:INLINE_LIMIT],
            "truncated": len(rows) > INLINE_LIMIT}


@register_job("prm.processbench", title="PRM: ProcessBench evaluation")
def processbench_job(spec: Any, ctx: Any) -> dict:
    """Earliest-error F1 per subset and averaged, at ``params['threshold']``, plus a threshold sweep."""
    from backend.prm.processbench import evaluate, sweep
    from backend.prm.records import check_processbench, read_jsonl
    from backend.workspace.atomic import atomic_write_text

    settings, p = parse_params(ProcessBenchParams, spec.params)
    data = spec.inputs.get("data") or p.get("data")
    if not data:
        raise ValueError("inputs.data: no ProcessBench file given")
    if str(data).startswith("zoo:"):
        from backend.models.zoo import zoo_data_path

        data = zoo_data_path(str(data)[4:])
    loaded = read_jsonl(data, check_processbench)
    for e in loaded.errors:
        ctx.log(f"skipped {e}")
    records = loaded.records[: settings.limit] if settings.limit else loaded.records
    if not records:
        raise ValueError(f"{data}: no valid ProcessBench records" + (f" ({loaded.errors[0]})" if loaded.errors else ""))
    ctx.progress(0.0, f"loading {p.get('prm')}")
    if not p.get("prm"):
        raise ValueError("params.prm: no PRM given")
    prm = _load(p["prm"], ctx.device, settings)
    scores, judged = _score_all(prm, [(r["problem"], r["steps"]) for r in records], ctx, 0.05, 0.95, "ProcessBench")
    threshold = settings.threshold
    ev = evaluate(records, scores, threshold)
    sw = sweep(records, scores)
    for s, r, sc, j in zip(ev["samples"], records, scores, judged):
        s["scores"] = sc
    detail = ctx.path("samples.jsonl")
    atomic_write_text(detail, "".join(json.dumps({**s, "problem": r["problem"], "steps": r["steps"],
                                                  "judgements": j}, ensure_ascii=False) + "\n"
                                      for s, r, j in zip(ev["samples"], records, judged)))
    ctx.artifact("samples", detail)
    for name, v in ev["subsets"].items():
        if v["f1"] is not None:
            ctx.metric(f"f1/{name}", v["f1"])
    if ev["average_f1"] is not None:
        ctx.metric("average_f1", ev["average_f1"])
    ctx.progress(1.0, "done")
    return {"prm": str(p["prm"]), "kind": prm.kind, "data": str(data), "errors": loaded.errors, **ev, "sweep": sw,
            "samples_file": str(detail)}
