"""The grader's sympy worker: reads ``{"id", "a", "b"}`` lines, answers ``{"id", "eq", "why"}``.

Started by :mod:`backend.mathgrade.bounded` as ``python -m backend.mathgrade._worker MEM_MB``.
Its address space is capped (``RLIMIT_AS``) so one answer cannot eat the machine's memory; the
parent kills it when a comparison outlives its deadline. It exits when its stdin closes.
"""
from __future__ import annotations

import json
import sys


def _cap_memory(mb: int) -> None:
    try:
        import resource

        limit = mb * 1024 * 1024
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # Windows / platforms without RLIMIT_AS: deadline only
        pass


def main(argv: list[str]) -> int:
    from backend.mathgrade.symbolic import compare

    compare("x+1", "1+x")  # warm sympy up before saying ready
    _cap_memory(int(argv[0]) if argv else 1024)
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            req = json.loads(line)
        except ValueError:
            continue
        try:
            eq, why = compare(req["a"], req["b"])
        except MemoryError:
            eq, why = None, "over the memory budget"
        except Exception as exc:  # noqa: BLE001 - any failure is "not equal" with the reason
            eq, why = False, f"sympy failed: {type(exc).__name__}"
        out.write(json.dumps({"id": req.get("id"), "eq": eq, "why": why}) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
