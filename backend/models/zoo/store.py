"""Where the zoo lives, whether it is complete, and how ``zoo:NAME`` resolves to a folder.

A zoo is complete only when ``manifest.json`` exists and every file it lists still has the
recorded SHA-256. The manifest is written last, inside a temporary folder that is renamed into
place, so an interrupted build leaves either nothing, a ``.partial`` sibling, or (if files were
damaged later) a hash mismatch: all three read as not ready and are rebuilt, never loaded.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

MANIFEST = "manifest.json"
PROFILES = ("tiny", "demo")


_job_workspace: ContextVar[Path | None] = ContextVar("benchtop_job_workspace", default=None)


@contextmanager
def job_workspace(workspace_root: str | Path | None) -> Iterator[None]:
    """Within this block (in this thread), ``zoo:NAME`` resolves in ``workspace_root``'s zoo.

    The runner opens one around every job with the workspace that records the run (a spawned
    ``isolate=True`` child does the same), and the CLI around a command given ``--workspace``;
    so a job that receives only a model name loads it from the workspace the user chose, with no
    process-wide setting that another workspace's job could change underneath it."""
    token = _job_workspace.set(Path(workspace_root) if workspace_root is not None else None)
    try:
        yield
    finally:
        _job_workspace.reset(token)


def current_workspace() -> Path | None:
    """The workspace set by :func:`job_workspace` for this thread, if any."""
    return _job_workspace.get()


def zoo_root(workspace_root: str | Path | None = None, profile: str = "demo") -> Path:
    """``<workspace>/zoo/<profile>``; the workspace defaults to the current job's
    (:func:`job_workspace`), else the user's (``BENCHTOP_WORKSPACE``)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown zoo profile {profile!r}; choose one of {', '.join(PROFILES)}")
    if workspace_root is None:
        from backend.workspace import default_workspace_dir

        workspace_root = current_workspace() or default_workspace_dir()
    return Path(workspace_root) / "zoo" / profile


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` (relative POSIX paths), manifest excluded."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            out[p.relative_to(root).as_posix()] = file_hash(p)
    return out


def read_manifest(root: str | Path) -> dict | None:
    p = Path(root) / MANIFEST
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def verify_zoo(root: str | Path, deep: bool = True) -> str | None:
    """None when the zoo at ``root`` is complete, else a sentence saying what is wrong.

    ``deep`` re-hashes every file (a few MB, well under a second); otherwise only presence and
    sizes are checked.
    """
    root = Path(root)
    if not root.is_dir():
        return f"{root} does not exist"
    man = read_manifest(root)
    if man is None:
        return f"{root} has no readable {MANIFEST} (an interrupted build)"
    files = man.get("files") or {}
    if not files:
        return f"{root / MANIFEST} lists no files"
    for rel, info in files.items():
        p = root / rel
        if not p.is_file():
            return f"{p} is listed in the manifest but missing"
        if p.stat().st_size != info.get("size"):
            return f"{p} has size {p.stat().st_size}, the manifest says {info.get('size')}"
        if deep and file_hash(p) != info.get("sha256"):
            return f"{p} does not match its hash in the manifest"
    return None


def zoo_status(root: str | Path) -> str:
    """``"ready"`` (complete and verified), ``"partial"`` (something there but incomplete or
    damaged, or a build's temporary folder beside it) or ``"missing"``. Re-hashes the files
    (a few MB, milliseconds), so a damaged zoo is never reported ready."""
    root = Path(root)
    if root.is_dir() and verify_zoo(root) is None:
        return "ready"
    leftovers = root.parent.is_dir() and any(root.parent.glob(f".{root.name}.*"))
    if (root.exists() and any(root.iterdir())) or leftovers:
        return "partial"
    return "missing"


def resolve_model(name: str | Path, workspace_root: str | Path | None = None, profile: str = "demo",
                  root: str | Path | None = None) -> Path:
    """A model folder for ``zoo:NAME`` or a folder path (``backend.models.tensors.resolve_model``
    with the zoo's ``profile`` and ``root`` choices); FileNotFoundError naming the model."""
    if str(name).startswith("zoo:"):
        return resolve_zoo_name(str(name), workspace_root, profile, root)
    from backend.models.tensors import resolve_model as resolve_folder

    return resolve_folder(name)


def resolve_zoo_name(text: str, workspace_root: str | Path | None = None, profile: str = "demo",
                     root: str | Path | None = None) -> Path:
    """The folder of ``zoo:NAME``: in ``root`` (a zoo folder), else ``BENCHTOP_ZOO``, else
    ``zoo_root(workspace_root, profile)``. Raises FileNotFoundError naming the model when the zoo
    is missing or half-built, or has no such model."""
    model = text[4:] if text.startswith("zoo:") else text
    if root is None:
        env = os.environ.get("BENCHTOP_ZOO")
        root = Path(env) if env else zoo_root(workspace_root, profile)
    root = Path(root)
    problem = verify_zoo(root)
    if problem is not None:
        hint = "" if profile == "demo" else f" --profile {profile}"
        raise FileNotFoundError(
            f"cannot load {text}: the {profile} zoo is not built yet ({problem}): "
            f"run `python main.py zoo build{hint}`")
    folder = root / model
    if not (folder / "config.json").is_file():
        known = ", ".join(f"zoo:{m}" for m in sorted((read_manifest(root) or {}).get("models", {})))
        raise FileNotFoundError(f"the zoo in {root} has no model {text}; it has {known}")
    return folder


def zoo_data_path(name: str, workspace_root: str | Path | None = None, profile: str = "demo",
                  root: str | Path | None = None) -> Path:
    """``<zoo>/data/<name>`` (``.jsonl`` added when no suffix is given), checked to exist."""
    if root is None:
        env = os.environ.get("BENCHTOP_ZOO")
        root = Path(env) if env else zoo_root(workspace_root, profile)
    fname = name if Path(name).suffix else f"{name}.jsonl"
    p = Path(root) / "data" / fname
    if not p.is_file():
        have = sorted(q.name for q in (Path(root) / "data").glob("*")) if (Path(root) / "data").is_dir() else []
        raise FileNotFoundError(f"zoo data file {p} does not exist"
                                + (f"; the zoo has {', '.join(have)}" if have else
                                   ": build the zoo with `python main.py zoo build`"))
    return p


def finetune_task(model: str | Path) -> str | None:
    """The task of a zoo fine-tune, from its name (``zoo:arith-ft-add``) or folder
    (``.../arith-ft-add``); None for any other model."""
    text = str(model)
    name = text[4:] if text.startswith("zoo:") else Path(text).name
    return name[len("arith-ft-"):] if name.startswith("arith-ft-") and len(name) > len("arith-ft-") else None


def finetune_data(ft_dir: str | Path, split: str, task: str | None = None) -> Path | None:
    """``<zoo>/data/task_<task>_<split>.jsonl`` beside a zoo fine-tune folder, if it exists
    (``task`` defaults to the one in the folder's name)."""
    ft_dir = Path(ft_dir)
    task = task or finetune_task(ft_dir)
    if task is None:
        return None
    p = ft_dir.parent / "data" / f"task_{task}_{split}.jsonl"
    return p if p.is_file() else None
