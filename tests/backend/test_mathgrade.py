"""Grader cases of the research note (§6 items 17-21) and the extraction / vote rules."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from backend.mathgrade import explain_equivalence, extract_answer, is_equivalent, majority_vote

# (gold, prediction, expected): our documented decision for every row of the note's table.
CASES = [
    (r"\frac{1}{2}", "0.5", True),            # exact rationals
    (r"\frac{1}{2}", "1/2", True),
    (r"\frac{1}{2}", r"\dfrac12", True),       # \dfrac and \frac12 spellings
    (r"\frac{1}{2}", r"\frac{2}{4}", True),    # unreduced fraction: same value
    ("0.5", r"50\%", True),                    # percent sign read as /100
    ("50", r"50\%", True),                     # ... or as a unit
    ("50", "0.5", False),                      # no x100 rule by default
    ("1", "100", False),
    ("1000", "1,000", True),                   # thousands separators
    ("1000", "1{,}000", True),
    ("10", "10.0", True),
    ("3", "x=3", True),                        # single-variable assignment
    ("5", r"\$5", True),                       # units dropped
    ("5", r"5\text{ cm}", True),
    (r"90^\circ", "90", True),
    (r"\frac{\sqrt2}{2}", r"\frac{1}{\sqrt2}", True),   # sympy constants
    (r"2\sqrt3", r"\sqrt{12}", True),
    ("(x+1)^2", "x^2+2x+1", True),            # polynomial identity
    ("(1,2)", "[1,2]", False),                 # open vs closed interval
    (r"\{1,2\}", r"\{2,1\}", True),            # sets are order-free
    ("3, 5", "5, 3", True),                    # bare list of answers: order-free
    (r"\pi", "3.14", False),                   # short decimals do not stand for constants
    (r"\pi", "3.14159", False),
    (r"\frac13", "0.333", False),
    (r"\frac13", "0.3333333", True),           # >= 6 decimals within one unit of the last place
    (r"\text{(A)}", "A", True),                # choice letters
    ("1.5", r"1\frac{1}{2}", True),            # mixed numbers
    ("2", "two", True),                        # number words
    ("3", "-3", False),
    ("12", "12.5", False),
]


@pytest.mark.parametrize("gold,pred,expected", CASES)
def test_grader_cases(gold, pred, expected):
    ok, rule = explain_equivalence(pred, gold)
    assert ok is expected, rule
    assert is_equivalent(pred, gold) is expected


@pytest.mark.parametrize("gold,pred", [(r"\frac{1}{2}", "0.5"), ("3, 5", "5, 3"), (r"2\sqrt3", r"\sqrt{12}")])
def test_symmetric(gold, pred):
    assert is_equivalent(gold, pred) and is_equivalent(pred, gold)


def test_percent_option_is_qwens_rule():
    assert is_equivalent("0.5", "50", percent=True)
    assert is_equivalent("100", "1", percent=True)


def test_missing_and_hostile_inputs():
    assert not is_equivalent(None, "3") and not is_equivalent("", "") and not is_equivalent("3", None)
    assert not is_equivalent("2^{99999999}", "3")       # big exponents refused, returns fast
    assert not is_equivalent("x" * 5000, "3")
    assert not is_equivalent("\\frac{1}{0}", "1")


def test_extract_answer_rules():
    assert extract_answer(r"so \boxed{\frac{1}{2}} and later \boxed{3}") == "3"     # last boxed
    assert extract_answer(r"\boxed{\frac{a}{b^{2}}}") == r"\frac{a}{b^{2}}"          # nested braces
    assert extract_answer("Step 1: 2+3=5\nAnswer: 5") == "5"
    assert extract_answer("Step 1: 2+3=5\nAnswer:") is None                        # empty line: no answer
    assert extract_answer("The answer is 42.") == "42"
    assert extract_answer("we get 3 and then 1,000 apples") == "1,000"              # last number
    assert extract_answer("no digits at all") is None
    assert extract_answer(None) is None and extract_answer("") is None


def test_majority_vote_rules():
    assert majority_vote(["2", "3", "3", "2"]) == ("2", 2)                    # tie: first seen
    assert majority_vote(["0.5", r"\frac{1}{2}", "1/2", "3", "3"]) == ("0.5", 3)  # equivalence groups
    assert majority_vote([None, "", "", "7"]) == ("7", 1)                      # empty never wins
    assert majority_vote([None, "  "]) == (None, 0)
    assert majority_vote([]) == (None, 0)
    ans, sup = majority_vote(["1/2", "0.5", "3"], weights=[0.3, 0.3, 0.5])     # weighted BoN (note item 19)
    assert ans == "1/2" and sup == pytest.approx(0.6)
    with pytest.raises(ValueError):
        majority_vote(["1"], weights=[1.0, 2.0])


def test_works_from_worker_thread():
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("v", is_equivalent("(x+1)^2", "x^2+2x+1")))
    t.start()
    t.join(30)
    assert out["v"] is True


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args,equiv", [(["1/2", "0.5"], True), (["Step 1: 1+1=2\nAnswer: 2", "3"], False)])
def test_grade_cli(args, equiv):
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "grade", *args, "--json"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["equivalent"] is equiv
