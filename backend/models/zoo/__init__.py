"""The arithmetic demo zoo: tiny real models and data that Benchtop trains itself.

Public API (docs/contracts.md, docs/zoo.md): :func:`zoo_root`, :func:`build_zoo`,
:func:`resolve_model`, :func:`zoo_status`, :func:`zoo_data_path`, :func:`verify_zoo`,
:func:`job_workspace`, :func:`current_workspace`.
Torch and transformers load only inside :func:`build_zoo`, so this import is cheap (the GUI
calls :func:`zoo_status` at start-up).
"""
from __future__ import annotations

from backend.models.zoo.store import (
    PROFILES,
    current_workspace,
    finetune_data,
    finetune_task,
    job_workspace,
    read_manifest,
    resolve_model,
    verify_zoo,
    zoo_data_path,
    zoo_root,
    zoo_status,
)


def build_zoo(root, profile: str = "demo", progress=None, cancel=None, seed: int = 0, ctx=None,
              force: bool = False) -> dict:
    """Build the zoo for ``profile`` into ``root`` atomically and return its manifest (see build.py)."""
    from backend.models.zoo.build import build_zoo as _build

    return _build(root, profile, progress=progress, cancel=cancel, seed=seed, ctx=ctx, force=force)


__all__ = ["PROFILES", "build_zoo", "current_workspace", "finetune_data", "finetune_task", "job_workspace",
           "read_manifest", "resolve_model", "verify_zoo", "zoo_data_path", "zoo_root", "zoo_status"]
