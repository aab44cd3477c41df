"""What the Ray executor costs on one machine: the same TTS sweep local vs on a local Ray.

    python bench/ray_overhead.py [--zoo DIR] [--limit 24] [--ns 1,2,4] [--shards 2]
                                 [--strategies majority,weighted_bon,beam]

Runs one sweep four times in this process (the runner's worker thread, as the app and CLI do):
``--executor local`` twice (the first pays the imports; the second is the baseline), then
``--executor ray`` twice: once with cold Ray workers (each worker imports torch and loads the
policy and PRM) and once warm (the models are cached in the workers). Ray's own start-up
(``ray.init``) is timed separately. Prints wall times, the ratio of each run to the baseline, and
whether the figures are identical (they must be). Ray gives each task ``OMP_NUM_THREADS=1``;
the driver keeps torch's own thread count (printed), so on a busy machine set
``OMP_NUM_THREADS=1`` for a like-for-like comparison.

The zoo: ``--zoo``, else the demo zoo at /work/ws-demo/zoo/demo when built, else
``$BENCHTOP_ZOO`` / the workspace's demo zoo. Exit status 1 when the figures differ.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import run  # noqa: E402

DEMO = Path("/work/ws-demo/zoo/demo")


def _zoo(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    if (DEMO / "manifest.json").is_file():
        return DEMO
    from backend.models.zoo import resolve_model

    return Path(resolve_model("zoo:arith-base")).parent


def _sweep(runner, params: dict, inputs: dict) -> tuple[float, dict]:  # noqa: ANN001 - a Runner
    from backend.jobs import JobSpec

    t0 = time.perf_counter()
    h = runner.submit(JobSpec("tts.sweep", params=params, inputs=inputs, device="cpu"))
    if h.wait(3600) != "succeeded":
        raise SystemExit(f"error: the sweep failed: {h.error}")
    return time.perf_counter() - t0, h.result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zoo")
    ap.add_argument("--limit", type=int, default=24)
    ap.add_argument("--ns", default="1,2,4")
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--strategies", default="majority,weighted_bon,beam")
    args = ap.parse_args()
    zoo = _zoo(args.zoo)
    os.environ["BENCHTOP_ZOO"] = str(zoo)
    from backend.jobs import Runner
    from backend.scale.ray_runtime import ensure_ray, startup_seconds

    data = zoo / "data" / "problems_eval.jsonl"
    if not data.is_file():
        raise FileNotFoundError(f"{data}: the zoo has no problems_eval.jsonl (build it: main.py zoo build)")
    inputs = {"policy": str(zoo / "arith-policy"), "prm": str(zoo / "arith-prm"), "data": str(data)}
    params = {"strategies": args.strategies.split(","), "ns": [int(x) for x in args.ns.split(",")],
              "limit": args.limit, "seed": 0}
    ex = {"executor": "ray", "shards": args.shards}
    print(f"zoo {zoo} ({os.cpu_count()} CPUs); sweep {args.strategies} at N={args.ns} on {args.limit} problems")
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(scratch_dir=Path(tmp))
        t_first, _ = _sweep(runner, params, inputs)
        t_local, local = _sweep(runner, params, inputs)
        ensure_ray("")
        t_cold, cold = _sweep(runner, {**params, **ex}, inputs)
        t_warm, warm = _sweep(runner, {**params, **ex}, inputs)
        runner.shutdown(timeout=10)
    same = all(r[k] == local[k] for r in (cold, warm) for k in ("runs", "compute_optimal", "problems"))
    import torch

    print(f"driver torch threads: {torch.get_num_threads()}")
    print(f"ray start-up (ray.init, local, {os.cpu_count()} CPUs): {startup_seconds():.2f} s")
    print(f"{'executor':<28}{'wall s':>9}{'ratio to local':>16}")
    print(f"{'local, first run':<28}{t_first:>9.2f}{t_first / t_local:>16.2f}")
    print(f"{'local (1 shard): baseline':<28}{t_local:>9.2f}{1.0:>16.2f}")
    print(f"{f'ray, {args.shards} shards, cold workers':<28}{t_cold:>9.2f}{t_cold / t_local:>16.2f}")
    print(f"{f'ray, {args.shards} shards, warm workers':<28}{t_warm:>9.2f}{t_warm / t_local:>16.2f}")
    print(f"figures identical to local: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    run(main)
