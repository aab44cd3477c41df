"""Merging and compression runs for the screenshots from the models a stopped demo-zoo build finished.

    python -m tools.ui_demo_partial_runs WS PARTIAL [compression] [merging]

A demo build that stops (here: during the third fine-tune) leaves its finished model folders in
``<zoo>/.demo.*.partial`` but no manifest, so ``zoo:`` names do not resolve. This copies
``arith-base``, ``arith-ft-add`` and ``arith-ft-sub`` to ``WS/demo-partial/`` (the build's folder
is only read), writes the zoo's own eval and train splits for add and sub beside them (regenerated
exactly by ``make_data(get_profile("demo"), seed=0)``, the function the build writes them with),
and runs the same specs as ``tools/ui_demo_runs.py`` with folder paths: the compression sweep on
add, and the merging study of add and sub. The run ids join ``WS/screenshot_runs.json``.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from backend.compression.names import METHODS
from backend.compression.params import CompressParams
from backend.jobs import JobSpec
from backend.merging.params import MergeStudyParams
from backend.models.zoo.build import make_data
from backend.models.zoo.profiles import get_profile
from tools.ui_demo_runs import MAP_FILE, _panel_jobs

def main(argv: list[str]) -> int:
    ws, partial = Path(argv[0]), Path(argv[1])
    which = argv[2:] or ["compression", "merging"]
    m = ws / "demo-partial"
    for name in ("arith-base", "arith-ft-add", "arith-ft-sub"):
        if not (m / name).is_dir():
            shutil.copytree(partial / name, m / name)
    (m / "data").mkdir(parents=True, exist_ok=True)
    splits = make_data(get_profile("demo"), 0)
    for task in ("add", "sub"):
        for split in ("eval", "train"):
            rows = splits[f"task_{split}"][task]
            (m / "data" / f"task_{task}_{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    map_path = ws / MAP_FILE
    runs = json.loads(map_path.read_text()) if map_path.is_file() else {}
    if "compression" in which:
        p = CompressParams.from_params({"method": "delta-dct", "bits": 1, "eval_limit": 40,
                                        "sweep_methods": list(METHODS), "sweep_bits": [0.5, 1, 2, 4]})
        params = p.to_dict()
        params.pop("distill_steps"), params.pop("distill_lr")
        spec = JobSpec("compression.compress", params=params,
                       inputs={"base": str(m / "arith-base"), "ft": str(m / "arith-ft-add")},
                       label="compress delta-dct 1 bit")
        runs["compression"] = _panel_jobs(ws, [spec], "compression sweep on demo arith-base / arith-ft-add")
        map_path.write_text(json.dumps(runs, indent=1))
    if "merging" in which:
        p = MergeStudyParams.from_params({"method": "ties", "density": 0.5, "limit": 40})
        spec = JobSpec("merging.study", params=p.to_dict(),
                       inputs={"base": str(m / "arith-base"),
                               "finetunes": {"add": str(m / "arith-ft-add"), "sub": str(m / "arith-ft-sub")}},
                       label="ties of 2 fine-tunes")
        runs["merging"] = _panel_jobs(ws, [spec], "merging study TIES of add, sub on demo models")
        map_path.write_text(json.dumps(runs, indent=1))
    print(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
