"""Answer grading shared by test-time scaling, TTRL and the PRM tools.

``extract_answer`` finds the final answer in a solution, ``is_equivalent`` decides whether two
answers state the same value (with ``explain_equivalence`` naming the rule), and
``majority_vote`` groups equivalent answers. The rules are listed in each module's docstring
and in ``docs/prm.md``; sympy is imported only when an answer is not a plain number.
"""
from backend.mathgrade.equivalence import explain_equivalence, is_equivalent, parse_number
from backend.mathgrade.extract import extract_answer
from backend.mathgrade.normalize import normalize
from backend.mathgrade.vote import majority_vote

__all__ = ["explain_equivalence", "extract_answer", "is_equivalent", "majority_vote", "normalize", "parse_number"]
