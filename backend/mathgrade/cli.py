"""``python main.py grade PRED REF [--json]``: extract both answers and say whether they match.

PRED and REF may be bare answers (``1/2``) or whole solutions (the final answer is extracted:
last ``\\boxed{}``, else an ``Answer:`` line, else the last number). Exit code 0 either way; the
verdict is in the output. A pure query: no job, no workspace record.
"""
from __future__ import annotations

import argparse

from backend.cli.common import add_json_flag, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grade", help="are two math answers equivalent? (extraction + equivalence rules)")
    p.add_argument("pred", help="predicted answer or solution text")
    p.add_argument("ref", help="reference answer or solution text")
    p.add_argument("--percent", action="store_true", help="also accept x100 / /100 (50 = 0.5)")
    add_json_flag(p)
    p.set_defaults(func=_grade)


def grade(pred_text: str, ref_text: str, percent: bool = False) -> dict:
    """Extracted answers, normalised forms, verdict and the deciding rule, as a dict."""
    from backend.mathgrade import explain_equivalence, extract_answer, normalize

    pred = extract_answer(pred_text) if _looks_like_solution(pred_text) else pred_text.strip() or None
    ref = extract_answer(ref_text) if _looks_like_solution(ref_text) else ref_text.strip() or None
    ok, rule = explain_equivalence(pred, ref, percent=percent)
    return {"pred": pred, "ref": ref, "pred_normalized": None if pred is None else normalize(pred),
            "ref_normalized": None if ref is None else normalize(ref), "equivalent": ok, "rule": rule}


def _looks_like_solution(text: str) -> bool:
    return "\\boxed" in text or "\\fbox" in text or "\n" in text.strip() or "answer" in text.lower()


def _grade(args: argparse.Namespace) -> int:
    res = grade(args.pred, args.ref, args.percent)
    if args.json:
        print_json(res)
    else:
        verdict = "equivalent" if res["equivalent"] else "not equivalent"
        print(f"{res['pred']!s}  vs  {res['ref']!s}: {verdict} ({res['rule']})")
    return 0
