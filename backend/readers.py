"""Readers of the files jobs write, one function per artifact, for panels, benches and tests.

Each reader sits here rather than in a panel so that the GUI, the CLI and the tests read an
artifact the same way, and so that files a job is still writing (``metrics.jsonl``,
``details.jsonl``) are read tolerantly: a half-written last line waits for the next read
instead of raising ``json.JSONDecodeError`` on the GUI thread. Torch-free and Qt-free.

Artifact                                   Writer                              Reader
``<ttrl out>/metrics.jsonl``               ``backend/ttrl/trainer.py``         :func:`read_ttrl_metrics`
``<tts out>/details.jsonl``                ``backend/tts/jobs.py``             :func:`read_tts_details`
``<tts out>/summary*.json``                ``backend/tts/jobs.py``             :func:`read_json`
PRM solutions (``problem``, ``steps``)     the user / ``backend/prm``          :func:`read_prm_solutions`
``processbench`` samples file              ``backend/prm/jobs.py``             :func:`read_prm_bench_samples`
``<equations out>/transcript.json``        ``backend/equations/loop.py``       :func:`read_equations_transcript`
``<tswitch>/tswitch.json``                 ``backend/merging/tswitch.py``      :func:`read_tswitch_meta`
``<merge out>/benchtop_merge.yml``         ``backend/merging/merge.py``        :func:`read_merge_config`
``<zoo>/manifest.json``                    ``backend/models/zoo/build.py``     :func:`read_zoo_manifest`
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backend.jsonl import LineProblem, tolerant_rows


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """A whole JSON file; FileNotFoundError / ValueError naming the file and the problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist (expected a {what})") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None


# -- TTRL ---------------------------------------------------------------------------------------
def read_ttrl_metrics(out: str | Path, upto: int | None = None,
                      problems: list[LineProblem] | None = None) -> list[dict[str, Any]]:
    """Rows ``{"name", "step", "value"}`` of ``<out>/metrics.jsonl`` (all steps, across resumes;
    ``upto``: only steps up to that one). Safe while the run is still writing."""
    rows = [row for _, row in tolerant_rows(Path(out) / "metrics.jsonl", problems, growing=True)
            if "name" in row and "value" in row]
    if upto is not None:
        rows = [r for r in rows if r.get("step") is not None and r["step"] <= upto]
    return rows


def ttrl_metric_series(out: str | Path) -> dict[str, list[tuple[float, float]]]:
    """The metrics of a TTRL output folder as ``{name: [(step, value), ...]}``."""
    series: dict[str, list[tuple[float, float]]] = {}
    for row in read_ttrl_metrics(out):
        series.setdefault(row["name"], []).append((row["step"], row["value"]))
    return series


# -- TTS ----------------------------------------------------------------------------------------
def read_tts_details(path: str | Path) -> dict[tuple[str, int, int], dict[str, Any]]:
    """Per-problem results of a TTS run keyed by (strategy, N, problem index)."""
    out = {}
    for _, d in tolerant_rows(path, growing=True):
        try:
            out[(str(d["strategy"]), int(d["n"]), int(d["index"]))] = d
        except (KeyError, TypeError, ValueError):
            continue
    return out


# -- PRM ----------------------------------------------------------------------------------------
def read_prm_solutions(path: str | Path) -> tuple[list[dict[str, Any]], int]:
    """Solution records (objects with a text ``problem``) and how many non-blank lines were not
    such a record; a damaged line is skipped, not fatal (the file may be a partial log)."""
    problems: list[LineProblem] = []
    rows = [row for _, row in tolerant_rows(path, problems)]
    good = [r for r in rows if isinstance(r.get("problem"), str)]
    return good, len(problems) + len(rows) - len(good)


def read_prm_bench_samples(path: str | Path) -> list[dict[str, Any]]:
    """Per-sample rows of a ProcessBench run (``samples_file`` of its result)."""
    return [row for _, row in tolerant_rows(path)]


# -- equations ----------------------------------------------------------------------------------
def read_equations_transcript(path: str | Path) -> dict[str, Any]:
    """The propose-fit-score transcript of an equation-discovery run (rewritten after each round)."""
    data = read_json(path, "equation-discovery transcript")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object (a transcript)")
    return data


# -- merging ------------------------------------------------------------------------------------
def read_tswitch_meta(folder: str | Path) -> dict[str, Any]:
    """``tswitch.json`` of a T-Switch folder: tasks (file, fine-tune, storage) and tensor shapes."""
    folder = Path(folder)
    try:
        meta = read_json(folder / "tswitch.json", "T-Switch description")
    except FileNotFoundError:
        raise FileNotFoundError(f"{folder} is not a T-Switch folder (no tswitch.json)") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("tasks"), dict) or "tensors" not in meta:
        raise ValueError(f"{folder / 'tswitch.json'}: not a T-Switch description (no tasks/tensors)")
    return meta


def read_merge_config(folder: str | Path) -> str:
    """The mergekit YAML a merge wrote beside its model (what reproduces it)."""
    path = Path(folder) / "benchtop_merge.yml"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{folder} has no benchtop_merge.yml (not a Benchtop merge)") from None


# -- the zoo ------------------------------------------------------------------------------------
def read_zoo_manifest(root: str | Path) -> dict[str, Any] | None:
    """The zoo's manifest (None when missing or unreadable: the zoo is then not ready)."""
    from backend.models.zoo.store import read_manifest

    return read_manifest(root)
