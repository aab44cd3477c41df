"""Checkpoints (save, find, resume) and the final export, all written atomically.

Layout under the run's output folder::

    out/ttrl_run.json                 settings, policy path, prompt files (written at start)
    out/checkpoints/step-000010/      an HF model folder + trainer_state.pt + ttrl_state.json
    out/model/                        the exported trained model (HF folder)

A checkpoint is a loadable HF folder itself, so a user can evaluate any of them. The
trainer state holds the optimizer and scheduler; the sampling and prompt order depend only
on (seed, step), so nothing else is needed to continue exactly where a run stopped.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from backend.workspace.atomic import atomic_dir, atomic_write_json

STATE_FILE = "trainer_state.pt"
INFO_FILE = "ttrl_state.json"
RUN_FILE = "ttrl_run.json"


def checkpoint_dir(out: Path, step: int) -> Path:
    return Path(out) / "checkpoints" / f"step-{step:06d}"


def list_checkpoints(out: str | Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of ``out`` as (step, folder), oldest first (partial ones are skipped)."""
    root = Path(out) / "checkpoints"
    found = []
    if root.is_dir():
        for d in root.iterdir():
            if d.is_dir() and d.name.startswith("step-") and (d / INFO_FILE).is_file() and (d / STATE_FILE).is_file():
                try:
                    found.append((int(d.name[5:]), d))
                except ValueError:
                    continue
    return sorted(found)


def latest_checkpoint(out: str | Path) -> tuple[int, Path] | None:
    found = list_checkpoints(out)
    return found[-1] if found else None


def save_checkpoint(out: Path, step: int, model, tokenizer, optimizer, scheduler, info: dict[str, Any],
                    keep: int = 2) -> Path:
    """Write checkpoint ``step`` atomically and prune all but the newest ``keep``."""
    import torch

    dest = checkpoint_dir(out, step)
    with atomic_dir(dest, overwrite=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "step": step},
                   tmp / STATE_FILE)
        (tmp / INFO_FILE).write_text(json.dumps({**info, "step": step}, indent=2, default=str), encoding="utf-8")
    for _step, old in list_checkpoints(out)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return dest


def load_trainer_state(ckpt: Path, optimizer, scheduler) -> int:
    """Restore optimizer and scheduler from ``ckpt``; returns the number of completed steps."""
    import torch

    path = Path(ckpt) / STATE_FILE
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - name the file whatever went wrong
        raise ValueError(f"checkpoint state {path} cannot be read: {exc}") from exc
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    return int(state["step"])


def read_run_file(out: str | Path) -> dict[str, Any]:
    path = Path(out) / RUN_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{out} is not a TTRL output folder (no {RUN_FILE}); nothing to resume") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None


def write_run_file(out: Path, info: dict[str, Any]) -> Path:
    return atomic_write_json(Path(out) / RUN_FILE, info)


def export_model(model, tokenizer, dest: str | Path, provenance: dict[str, Any], dtype: str | None = None) -> Path:
    """Save the trained policy as an HF folder at ``dest`` (replaced atomically if present), in
    ``dtype`` (the source checkpoint's: a bf16 policy trained in fp32 is exported as bf16)."""
    from backend.generation.export import save_model

    dest = Path(dest)
    with atomic_dir(dest, overwrite=True) as tmp:
        save_model(model, tmp, dtype)
        tokenizer.save_pretrained(tmp)
        (tmp / "benchtop_ttrl.json").write_text(json.dumps(provenance, indent=2, default=str), encoding="utf-8")
    return dest
