"""Build the demo zoo and print the build time and every figure of its manifest.

    python bench/zoo_build.py [--profile demo|tiny] [--root DIR] [--seed N] [--reuse] [--json]

Builds into ``--root`` (default: a fresh temporary folder, removed afterwards unless --keep), so
the measured time is a full build; ``--reuse`` returns an existing complete zoo at --root.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="demo", choices=["tiny", "demo"])
    ap.add_argument("--root", help="zoo folder to build into")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reuse", action="store_true", help="keep a complete zoo at --root instead of rebuilding")
    ap.add_argument("--keep", action="store_true", help="keep the temporary zoo")
    ap.add_argument("--json", action="store_true", help="print the manifest's figures as JSON")
    args = ap.parse_args(argv)

    from backend.models.zoo import build_zoo
    from backend.models.zoo.report import format_figures

    tmp = None
    root = Path(args.root) if args.root else Path(tempfile.mkdtemp(prefix="zoo-bench-")) / args.profile
    if not args.root:
        tmp = root.parent
    last = [0.0]

    def progress(frac: float, msg: str) -> None:
        if time.monotonic() - last[0] > 5 or frac >= 1:
            last[0] = time.monotonic()
            print(f"[{100 * frac:5.1f}%] {msg}", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    man = build_zoo(root, args.profile, progress=progress, seed=args.seed, force=not args.reuse)
    wall = time.perf_counter() - t0
    try:
        if args.json:
            print(json.dumps({"wall_seconds": round(wall, 1), "build_seconds": man["build_seconds"],
                              "figures": man["figures"], "timings": man["timings"],
                              "train_seconds": {k: v.get("train_seconds") for k, v in man["models"].items()}},
                             indent=2))
            return 0
        import os
        print(f"profile {args.profile}, seed {args.seed}: build {man['build_seconds']} s "
              f"(wall {wall:.1f} s, torch threads {man['threads']}, cpus {os.cpu_count()}, "
              f"load avg {os.getloadavg()[0]:.1f})")
        print("training seconds: " + ", ".join(f"{k} {v.get('train_seconds')}" for k, v in man["models"].items()))
        print("eval seconds: " + ", ".join(f"{k} {v}" for k, v in man["timings"].items()))
        print(format_figures(man["figures"]))
    finally:
        if tmp is not None and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp is not None:
            print(f"zoo kept in {root}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
