"""The openai engine against the in-process hf engine on the same TTS run (tiny or demo zoo).

Starts ``python main.py serve zoo:arith-policy --port 0`` as a real process, runs the same
``tts run`` (beam search with the reference scorer, then Best-of-N sampling) with ``--engine hf``
and ``--engine openai``, checks the answers and token counts are identical and prints the wall
time of each and their ratio (HTTP + JSON + server-side batching of concurrent requests,
against one process batching everything itself).

    python bench/engines.py [--zoo DIR] [--limit 8] [--n 8] [--concurrency 32]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, demo_zoo, run


def _cli(ws: Path, *words: str) -> dict:
    from backend.cli.parser import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        rc = main(["--workspace", str(ws), *words, "--json"])
    res = json.loads(out.getvalue())
    if rc != 0:
        raise SystemExit(f"error: {res.get('error')}")
    return res["result"]


def bench() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--zoo", help="a built zoo folder (default: the workspace's demo zoo or $BENCHTOP_ZOO)")
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args()
    zoo = demo_zoo(args.zoo).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="bench-engines-"))
    ws = tmp / "ws"
    (ws / "zoo").mkdir(parents=True)
    (ws / "zoo" / "demo").symlink_to(zoo, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if k != "BENCHTOP_ZOO"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--workspace", str(ws), "serve",
                             "zoo:arith-policy", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env, cwd=ROOT)
    try:
        m = re.search(r"(http://\S+/v1)", proc.stdout.readline())
        if not m:
            raise SystemExit("error: the server did not start")
        url = m.group(1)
        data = str(zoo / "data" / "problems_eval.jsonl")
        print(f"zoo {zoo}, {args.limit} problems, N={args.n}; server {url}")
        print(f"{'strategy':<10}{'hf s':>8}{'openai s':>10}{'ratio':>8}{'tokens':>9}  same answers+tokens")
        for strategy, prm in (("beam", "reference:arithmetic"), ("bon", "reference:arithmetic")):
            res, secs = {}, {}
            for engine in ("hf", "openai"):
                extra = ["--base-url", url, "--max-concurrency", str(args.concurrency)] if engine == "openai" else []
                t0 = time.perf_counter()
                res[engine] = _cli(ws, "tts", "run", "--policy", "zoo:arith-policy", "--prm", prm, "--data", data,
                                   "--limit", str(args.limit), "--strategy", strategy, "--n", str(args.n),
                                   "--seed", "0", "--out", str(tmp / f"{strategy}-{engine}"), "--engine", engine,
                                   *extra)
                secs[engine] = time.perf_counter() - t0
            a, b = res["hf"], res["openai"]
            same = a["answers"] == b["answers"] and a["tokens"] == b["tokens"]
            print(f"{strategy:<10}{secs['hf']:>8.1f}{secs['openai']:>10.1f}{secs['openai'] / secs['hf']:>7.2f}x"
                  f"{a['timing']['generation']['generated_tokens']:>9}  {same}")
            if not same:
                return 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    run(bench, timed=True)
