"""``make gpu-check``: every GPU-relevant job kind once on CUDA and once on the CPU, with the tiny
zoo's models; prints the CPU/CUDA wall-time ratio and the peak GPU memory of each.

Why a script and not a test: GPUs are lent now and then; whoever has one runs this and records
the figures in docs/scale.md. Each check is the real CLI command (``main.py ...`` run in this
process, so ``torch.cuda.max_memory_allocated`` sees the job), timed end to end (model load
included) on both devices in the same run.

    python bench/gpu_check.py                  # cpu vs cuda; without CUDA: one line, exit 0
    python bench/gpu_check.py --device cpu     # dry run: both sides on the CPU (ratio ~1)
    python bench/gpu_check.py --only tts.run,prm.processbench --zoo DIR
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SMALL_TTS = ["--limit", "4", "--max-steps", "3", "--max-tokens", "24", "--step-tokens", "10", "--seed", "0"]


def checks(zoo: Path, out: Path) -> dict[str, list[str]]:
    """Job kind -> the CLI words that run it once (``{dev}`` is replaced by the device)."""
    data = zoo / "data"
    return {
        "tts.run": ["tts", "run", "--policy", "zoo:arith-policy", "--prm", "zoo:arith-prm", "--data",
                    str(data / "problems_eval.jsonl"), "--strategy", "beam", "--n", "4", *SMALL_TTS,
                    "--out", str(out / "tts_run"), "--device", "{dev}"],
        "tts.sweep": ["tts", "sweep", "--policy", "zoo:arith-policy", "--prm", "reference:arithmetic", "--data",
                      str(data / "problems_eval.jsonl"), "--strategies", "majority,bon,beam", "--ns", "1,4",
                      *SMALL_TTS, "--out", str(out / "tts_sweep"), "--device", "{dev}"],
        "prm.processbench": ["prm", "processbench", "--prm", "zoo:arith-prm", "--data", "zoo:processbench",
                             "--device", "{dev}"],
        "prm.processbench (GenPRM)": ["prm", "processbench", "--prm", "zoo:arith-genprm", "--data",
                                      "zoo:processbench", "--limit", "4", "--device", "{dev}"],
        "merging.eval": ["merge-eval", "zoo:arith-ft-add", "--tasks", "add,mul", "--limit", "32", "--device",
                         "{dev}"],
        "compression.compress": ["compress", "zoo:arith-base", "zoo:arith-ft-add", "--method", "delta-dct",
                                 "--eval-limit", "32", "--out", str(out / "compress"), "--device", "{dev}"],
        "ttrl.train": ["ttrl", "train", "--policy", "zoo:arith-policy", "--prompts", str(data / "ttrl_unlabeled.jsonl"),
                       "--steps", "3", "--out", str(out / "ttrl"), "--device", "{dev}"],
    }


def build_zoo(zoo_arg: str | None, tmp: Path) -> Path:
    """The tiny zoo: ``--zoo``, else ``$BENCHTOP_ZOO_CACHE/tiny`` (kept), else a fresh one in ``tmp``."""
    from backend.models.zoo import build_zoo as build

    if zoo_arg:
        return Path(zoo_arg)
    cache = os.environ.get("BENCHTOP_ZOO_CACHE")
    root = (Path(cache).expanduser() if cache else tmp) / "tiny"
    print(f"building the tiny zoo in {root} …", flush=True)
    build(root, "tiny", seed=0)
    return root


def run_once(ws: Path, argv: list[str], device: str) -> tuple[float, float | None, str]:
    """(seconds, peak GPU MiB or None, error line or '') of one CLI command on ``device``."""
    import torch

    from backend.cli.parser import main

    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    words = [w.replace("{dev}", device) for w in argv]
    err, out = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(["--workspace", str(ws), *words, "--json"])
        except Exception as exc:  # noqa: BLE001 - one broken kind is reported, the others still run
            rc = 1
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
    if cuda:
        torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    return secs, peak, "" if rc == 0 else _error(out.getvalue(), err.getvalue(), rc)


def _error(stdout: str, stderr: str, rc: int) -> str:
    """The failed run's error (from its --json answer, else the CLI's ``error:`` line)."""
    import json

    try:
        return str(json.loads(stdout).get("error") or f"exit {rc}")
    except ValueError:
        return next((ln for ln in stderr.splitlines() if ln.startswith("error")), f"exit {rc}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda", help="the device compared with the CPU (cpu: a dry run)")
    ap.add_argument("--zoo", help="a built tiny zoo folder (default: build one)")
    ap.add_argument("--only", help="comma-separated job kinds (default: all)")
    args = ap.parse_args()
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu-check: no CUDA GPU here (torch.cuda.is_available() is False); nothing to measure")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    try:
        zoo = build_zoo(args.zoo, tmp)
        ws = tmp / "ws"
        (ws / "zoo").mkdir(parents=True)
        (ws / "zoo" / "demo").symlink_to(zoo.resolve(), target_is_directory=True)
        table = checks(zoo, tmp / "out")
        wanted = [k for k in table if not args.only or k.split(" ")[0] in args.only.split(",") or k in args.only]
        name = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else args.device
        print(f"gpu-check: cpu vs {args.device} ({name}); torch {torch.__version__}")
        print(f"{'job kind':<28}{'cpu s':>8}{args.device + ' s':>10}{'speed-up':>10}{'peak MiB':>10}")
        failed = 0
        for kind in wanted:
            row = []
            for side, dev in (("a", "cpu"), ("b", args.device)):
                shutil.rmtree(tmp / "out", ignore_errors=True)
                row.append(run_once(ws, table[kind], dev))
            (ta, _, ea), (tb, peak, eb) = row
            if ea or eb:
                failed += 1
                print(f"{kind:<28}failed: {ea or eb}")
                continue
            mem = "-" if peak is None else f"{peak:.0f}"
            print(f"{kind:<28}{ta:>8.1f}{tb:>10.1f}{ta / tb:>9.2f}x{mem:>10}", flush=True)
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
