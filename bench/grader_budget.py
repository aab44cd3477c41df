"""The grader's budget (issue #16 item 3): hostile answers against legitimate ones, same run.

Prints the worst time of the hostile answers of ``tests/backend/test_mathgrade_budget.py`` and
the mean time of legitimate sympy comparisons measured in the same process, and their ratio.
Target: every hostile answer within a few seconds (the worker deadline is 2 s); here they are
refused by the text guard in milliseconds.

    python bench/grader_budget.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "backend"))


def main() -> int:
    from test_mathgrade_budget import HOSTILE

    from backend.mathgrade import is_equivalent

    t = time.perf_counter()
    is_equivalent("(x+1)^2", "x^2+2x+1")
    cold = time.perf_counter() - t
    pairs = [(f"(x+{i})^2", f"x^2+{2 * i}x+{i * i}") for i in range(2, 202)]
    t = time.perf_counter()
    ok = sum(is_equivalent(a, b) for a, b in pairs)
    legit = (time.perf_counter() - t) / len(pairs)
    worst, worst_s = 0.0, ""
    for h in HOSTILE:
        t = time.perf_counter()
        if is_equivalent(h, "3"):
            print(f"error: hostile answer {h[:30]!r} compared equal to 3")
            return 1
        dt = time.perf_counter() - t
        if dt > worst:
            worst, worst_s = dt, h
    print(f"first sympy comparison (worker start) {cold:.2f} s")
    print(f"legitimate comparisons: {1000 * legit:.2f} ms each ({ok}/{len(pairs)} equal)")
    print(f"{len(HOSTILE)} hostile answers: worst {1000 * worst:.2f} ms ({worst_s[:30]!r}), "
          f"{worst / legit:.2f}x a legitimate comparison")
    return 0 if worst < 5.0 else 1


if __name__ == "__main__":
    sys.exit(main())
