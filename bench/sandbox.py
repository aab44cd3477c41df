"""Sandbox start-up cost per snippet: the OS-level sandbox against the in-process hook it replaced.

    python bench/sandbox.py [--runs 20] [--json]

GenPRM runs one sandbox per ``<verify>`` block, thousands per evaluation, so the fixed cost of a
run matters. Both are measured in this run, interleaved (so machine load hits both alike):

* before: the pre-#16 sandbox, ``[unshare -n] python -I -B -c <audit-hook boot>`` with piped
  output (bench/_legacy_sandbox_boot.py, kept verbatim), i.e. one fresh interpreter;
* after: ``backend.sandbox.run_python`` (a launcher forked from the warm launcher server,
  namespaces, minimal root, seccomp, landlock, then the snippet's interpreter).

Snippets: ``print(1)`` (pure start-up) and a GenPRM-style check importing sympy (what a
verification costs end to end). Prints the median and mean per run and the ratio after/before.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from _common import ROOT, run

LEGACY_BOOT = (ROOT / "bench" / "_legacy_sandbox_boot.py").read_text(encoding="utf-8")
SNIPPETS = {"print(1)": "print(1)",
            "sympy check": "import sympy as sp\nx = sp.symbols('x')\nprint(sp.expand((x + 1)**2) == x**2 + 2*x + 1)"}


def _legacy_prefix() -> list[str]:
    exe = shutil.which("unshare")
    for flags in (["-n"], ["-rn"]):
        if exe and subprocess.run([exe, *flags, "true"], capture_output=True, check=False).returncode == 0:
            return [exe, *flags]
    return []


def run_before(code: str, prefix: list[str]) -> float:
    """One run of the old sandbox's launch path; seconds."""
    import sysconfig

    t = time.perf_counter()
    tmp = tempfile.mkdtemp(prefix="benchtop-legacy-")
    try:
        with open(os.path.join(tmp, "snippet.py"), "w") as f:
            f.write(code)
        roots = sorted({sys.prefix, sys.base_prefix, *sysconfig.get_paths().values()})
        cfg = {"tmp": tmp, "memory_mb": 512, "cpu_seconds": 6, "file_mb": 16, "nproc": 4096, "read_roots": roots}
        env = {"HOME": tmp, "TMPDIR": tmp, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1"}
        p = subprocess.run([*prefix, sys.executable, "-I", "-B", "-c", LEGACY_BOOT, json.dumps(cfg)], cwd=tmp,
                           env=env, capture_output=True, timeout=60, start_new_session=True, check=False)
        if p.returncode != 0:
            raise RuntimeError(f"legacy sandbox failed: {p.stderr.decode()[-300:]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return time.perf_counter() - t


def run_after(code: str) -> float:
    from backend.sandbox import run_python

    t = time.perf_counter()
    r = run_python(code, timeout=60)
    if r.status != "ok":
        raise RuntimeError(f"sandbox run failed: {r.status}: {r.reason}")
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20, help="runs per snippet and sandbox (default 20)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    if args.runs < 1:
        sys.exit("error: --runs must be at least 1")
    prefix = _legacy_prefix()
    run_before("pass", prefix), run_after("pass")  # warm caches for both
    rows = []
    for name, code in SNIPPETS.items():
        before, after = [], []
        for _ in range(args.runs):
            before.append(run_before(code, prefix))
            after.append(run_after(code))
        b, a = statistics.median(before), statistics.median(after)
        rows.append({"snippet": name, "runs": args.runs, "before_median_ms": 1000 * b, "after_median_ms": 1000 * a,
                     "before_mean_ms": 1000 * statistics.mean(before), "after_mean_ms": 1000 * statistics.mean(after),
                     "ratio_median": a / b})
    if args.json:
        print(json.dumps({"legacy_prefix": " ".join(prefix), "rows": rows}, indent=1))
        return 0
    print(f"sandbox start-up, {args.runs} runs each, interleaved (before: {' '.join(prefix) or 'no'} unshare "
          f"+ audit-hook interpreter; after: OS-level sandbox)")
    for r in rows:
        print(f"[{r['snippet']}] before {r['before_median_ms']:.0f} ms median ({r['before_mean_ms']:.0f} mean), "
              f"after {r['after_median_ms']:.0f} ms median ({r['after_mean_ms']:.0f} mean): "
              f"ratio {r['ratio_median']:.2f}x")
    return 0


if __name__ == "__main__":
    run(main)
