"""Fill a workspace with one small, real run per panel, for the screenshots in docs/screenshots/ui.

Every run is made the way a user makes it: ``python main.py --workspace WS <command> ...`` in a
child process (the CLI records it in the workspace like the GUI does); the merging panel's study is
``merge-study``, the compression panel's curves ``compress --sweep-methods --sweep-bits``. One panel
draws what only its Start button makes, so for it the same ``JobSpec`` the panel builds goes through
the same ``Runner``: the binary-network batch (two methods side by side under one batch label).

The settings are the quickest that still show what each panel is for (a few minutes in all on two
busy cores with the demo zoo). Which runs belong to which panel is kept in
``<workspace>/screenshot_runs.json``; a step whose runs are there and succeeded is not run again,
so re-taking the pictures after an app change costs only the grabbing (``--redo tts,prm`` re-runs
named steps).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAP_FILE = "screenshot_runs.json"


def _cli(ws: Path, *argv: str) -> str:
    """Run one CLI command with ``--json`` and return the id of the run it recorded."""
    cmd = [sys.executable, str(ROOT / "main.py"), "--workspace", str(ws), *argv, "--json"]
    print("$ python main.py --workspace WS " + " ".join(argv), flush=True)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:2])} failed (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    out = json.loads(proc.stdout)
    print(f"  {out['status']} in {time.monotonic() - t0:.0f} s: run {out['run_id']}", flush=True)
    return out["run_id"]


def _plain(ws: Path, *argv: str) -> None:
    """A CLI command that writes a file and records no run (data generators)."""
    print("$ python main.py --workspace WS " + " ".join(argv), flush=True)
    subprocess.run([sys.executable, str(ROOT / "main.py"), "--workspace", str(ws), *argv],
                   cwd=ROOT, check=True, capture_output=True, text=True)


def _fresh(path: Path) -> str:
    """An output path that does not exist yet (the CLI refuses to overwrite)."""
    if path.exists():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return str(path)


def _tts(ws: Path, out: Path, data: Path) -> list[str]:
    return [_cli(ws, "tts", "sweep", "--policy", "zoo:arith-policy", "--prm", "zoo:arith-prm",
                 "--data", str(data / "problems_eval.jsonl"), "--limit", "16",
                 "--strategies", "majority,bon,weighted_bon,beam", "--ns", "1,2,4,8",
                 "--out", _fresh(out / "tts-sweep"))]


def _head(src: Path, dest: Path, n: int) -> str:
    """The first ``n`` lines of a JSONL file, as a new file (inputs are never modified)."""
    dest.write_text("".join(src.read_text(encoding="utf-8").splitlines(keepends=True)[:n]), encoding="utf-8")
    return str(dest)


def _ttrl(ws: Path, out: Path, data: Path) -> list[str]:
    # the first 48 of the zoo's 200 TTRL prompts (and their labels, for monitoring only)
    prompts = _head(data / "ttrl_unlabeled.jsonl", out / "ttrl_prompts48.jsonl", 48)
    labels = _head(data / "ttrl_labeled.jsonl", out / "ttrl_labels48.jsonl", 48)
    return [_cli(ws, "ttrl", "train", "--policy", "zoo:arith-policy", "--prompts", prompts, "--eval", labels,
                 "--steps", "8", "--prompts-per-step", "4", "--n-votes", "8", "--n-train", "8",
                 "--eval-every", "4", "--eval-n", "4", "--checkpoint-every", "4",
                 "--out", _fresh(out / "ttrl"))]


def _prm(ws: Path, out: Path, data: Path) -> list[str]:
    items = _head(data / "processbench.jsonl", out / "prm_score_input.jsonl", 8)
    score = _cli(ws, "prm", "score", "--prm", "zoo:arith-prm", "--input", str(items),
                 "--out", _fresh(out / "prm_scores.jsonl"))
    bench = _cli(ws, "prm", "processbench", "--prm", "zoo:arith-prm", "--data", str(data / "processbench.jsonl"))
    return [bench, score]     # the score last: opening the bench run after it would clear its step cards


def _panel_jobs(ws: Path, specs: list, note: str) -> list[str]:
    """Run the ``JobSpec``s a panel's Start button builds, through the same ``Runner`` (for what
    the CLI has no command for), one after another; returns their run ids."""
    from backend.jobs import Runner
    from backend.workspace import Workspace

    print(f"$ (panel's Start) {note}", flush=True)
    workspace = Workspace(str(ws))
    ids = []
    try:
        runner = Runner(workspace)
        for spec in specs:
            t0 = time.monotonic()
            handle = runner.submit(spec)
            handle.wait()
            if handle.status != "succeeded":
                raise RuntimeError(f"{spec.kind} {handle.status}: {handle.error}")
            print(f"  succeeded in {time.monotonic() - t0:.0f} s: run {handle.run_id}", flush=True)
            ids.append(handle.run_id)
        runner.shutdown(timeout=10)
    finally:
        workspace.close()
    return ids


def _merging(ws: Path, out: Path, data: Path) -> list[str]:
    fts = [f"zoo:arith-ft-{t}" for t in ("add", "sub", "mul", "upper")]
    return [_cli(ws, "merge-study", "zoo:arith-base", *fts, "--method", "ties", "--density", "0.5", "--limit", "40")]


def _compression(ws: Path, out: Path, data: Path) -> list[str]:
    from backend.compression.names import METHODS

    # with the panel's "rate–distortion curves" box: every method at 0.5-4 bits
    return [_cli(ws, "compress", "zoo:arith-base", "zoo:arith-ft-add", "--method", "delta-dct", "--bits", "1",
                 "--eval-limit", "40", "--sweep-methods", ",".join(METHODS), "--sweep-bits", "0.5,1,2,4",
                 "--out", _fresh(out / "delta-dct-1bit"))]


def _equations(ws: Path, out: Path, data: Path) -> list[str]:
    csv = _fresh(out / "lorenz.csv")
    _plain(ws, "equations", "system", "lorenz", "--noise", "0.01", "--out", csv)
    return [_cli(ws, "equations", "fit", csv, "--library", "poly2", "--out", _fresh(out / "lorenz-fit"))]


def _positions(ws: Path, out: Path, data: Path) -> list[str]:
    text = out / "stdlib.txt"
    if not text.is_file():
        _plain(ws, "fope", "sample-text", "stdlib", "--out", str(text))
    ids = []
    for pos in ("rope", "fope"):
        model = _fresh(out / f"fope-{pos}")
        ids.append(_cli(ws, "fope", "train", "--text", str(text), "--pos", pos, "--train-len", "64", "--steps", "150",
                        "--seed", "0", "--threads", "1", "--out", model))
        ids.append(_cli(ws, "fope", "eval", model, "--text", str(text), "--lengths", "64,128,256",
                        "--windows", "8", "--trials", "16", "--threads", "1"))
    return ids


def _bnn(ws: Path, out: Path, data: Path) -> list[str]:
    from backend.bnn.params import BnnTrainParams
    from backend.jobs import JobSpec

    # the panel's "Train all" batch (STE + Adam against FSG): its label ties the runs together
    specs = []
    for m in ("ste-adam", "fsg"):
        params = BnnTrainParams.from_params({"method": m, "seed": 0, "epochs": 4, "pretrain_epochs": 4,
                                             "threads": 1}).to_dict()
        specs.append(JobSpec("bnn.train", params=params, inputs={"data": "digits"}, device="cpu",
                             label=f"bnn {m} digits s0 [bshots]", isolate=True))
    return _panel_jobs(ws, specs, "bnn: STE + Adam and FSG on digits, 4 + 4 epochs (a batch)")


def _retrieval(ws: Path, out: Path, data: Path) -> list[str]:
    kb = out / "kb"
    if not (kb / "corpus.jsonl").is_file():
        _plain(ws, "retrieval", "synth", _fresh(kb), "--docs", "60")
    index = _fresh(out / "rindex")
    # a from-scratch model (as in docs/retrieval.md's measured figures): no zoo needed
    ids = [_cli(ws, "retrieval", "index", str(kb / "corpus.jsonl"), "--model", "scratch", "--steps", "300",
                "--out", index)]
    ids.append(_cli(ws, "retrieval", "eval", index, "--queries", str(kb / "queries.jsonl"),
                    "--qrels", str(kb / "qrels" / "test.tsv"), "--max-queries", "40",
                    "--calibrate", "--feedback", "gold", "--dpo-lr", "1e-4", "--dpo-steps", "30",
                    "--feedback-queries", "60"))
    return ids


NO_ZOO = ("equations", "positions", "bnn", "retrieval")   # steps that need no zoo (can run while it is built)
STEPS: dict[str, Callable[[Path, Path, Path], list[str]]] = {
    "prm": _prm, "merging": _merging, "compression": _compression, "tts": _tts, "ttrl": _ttrl,   # quickest first
    "equations": _equations, "positions": _positions, "bnn": _bnn, "retrieval": _retrieval,
}


def _succeeded(ws: Path, run_ids: list[str]) -> bool:
    from backend.workspace import Workspace

    workspace = Workspace(str(ws))
    try:
        return all(workspace.get_run(r).status == "succeeded" for r in run_ids)
    except KeyError:
        return False
    finally:
        workspace.close()


def prepare(ws: str | Path, zoo: str | Path | None, only: list[str] | None = None,
            redo: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Make (or reuse) the runs of each panel in ``ws``; returns ``{panel: [run ids]}``, in the
    order the panel should open them. ``zoo`` is a built demo zoo folder, copied (never written)
    into ``<ws>/zoo/demo``, where ``zoo:NAME`` resolves for runs recorded in ``ws``; without it
    only the steps that need no zoo run (``NO_ZOO``)."""
    from backend.models.zoo.store import verify_zoo

    ws = Path(ws).resolve()
    target = ws / "zoo" / "demo"
    if zoo is not None:
        zoo = Path(zoo).resolve()
        problem = verify_zoo(zoo)
        if problem is not None:
            raise SystemExit(f"error: {problem}")
        if target.resolve() != zoo and verify_zoo(target) is not None:
            _fresh(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(zoo, target)
    out = ws / "screenshot_inputs"
    out.mkdir(parents=True, exist_ok=True)
    map_path = ws / MAP_FILE
    runs: dict[str, list[str]] = json.loads(map_path.read_text(encoding="utf-8")) if map_path.is_file() else {}
    for name, step in STEPS.items():
        if (only and name not in only) or (zoo is None and name not in NO_ZOO):
            continue
        if name in runs and name not in redo and _succeeded(ws, runs[name]):
            continue
        runs[name] = step(ws, out, target / "data")
        tmp = map_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(runs, indent=1), encoding="utf-8")
        tmp.replace(map_path)
    return runs
