"""Atomic outputs: write to a temporary sibling, then rename, so a crash never leaves half a file.

Every file or folder Benchtop produces goes through these helpers. They refuse to replace an
existing folder unless asked, so a user's data is never overwritten by accident. Outputs follow
the user's umask (``tempfile.mkstemp``/``mkdtemp`` would make them 0600/0700, unreadable to a
group that shares results).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import secrets
from pathlib import Path
from typing import Any, Iterator


def _new_temp_file(path: Path) -> tuple[int, str]:
    """A fresh sibling file opened for writing, mode 0666 less the umask (the kernel applies it)."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), str(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")


def _new_temp_dir(path: Path) -> Path:
    """A fresh sibling ``.NAME.XXXX.partial`` folder, mode 0777 less the umask."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.partial"
        try:
            os.mkdir(tmp, 0o777)
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary folder beside {path}")


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _new_temp_file(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any, indent: int | None = 2) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=indent, default=str, allow_nan=True) + "\n")


@contextlib.contextmanager
def atomic_dir(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it is renamed to ``path``.

    Raises FileExistsError (naming the folder) when ``path`` exists and ``overwrite`` is false,
    before any work is done. On an exception the temporary folder is removed and ``path`` is
    untouched.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"output folder {path} already exists; choose another or remove it first")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp_dir(path)
    try:
        yield tmp
        if path.exists():
            backup = path.with_name(f".{path.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            os.replace(path, backup)
            os.replace(tmp, path)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
