"""What the snippet's file system holds: the interpreter and its libraries read-only, a few /dev
nodes, and its own folder writable. Everything else of the host is simply absent (not denied).

Why bind whole directories rather than a file list: numpy and sympy load extension modules and
shared libraries at import time, and the exact set changes with versions; the system library
directories (``/usr/lib``, ``/lib64``) hold code, not user data. What is left out is the point:
``/etc``, ``/home``, ``/root``, ``/proc`` of the host, ``/sys``, ``/tmp``, the workspace, Benchtop's
own sources and every binary but the interpreter (so there is no ``sh`` to run).
"""
from __future__ import annotations

import os
import site
import sys
import sysconfig

RDONLY, NOSUID, NODEV, NOEXEC = 1, 2, 4, 8  # MOUNT_ATTR_* bits for mount_setattr
SYSTEM_LIBS = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/lib", "/lib64", "/lib32")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


def _outermost(paths: set[str]) -> list[str]:
    """Drop paths that lie inside another path of the set (one bind covers them)."""
    keep = []
    for p in sorted(paths, key=len):
        if not any(p == k or p.startswith(k.rstrip("/") + "/") for k in keep):
            keep.append(p)
    return sorted(keep)


def python_roots() -> list[str]:
    """The installation directories the interpreter needs: prefixes and site-packages, both as
    given (a venv is found through its own path) and resolved (symlinked installs)."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_paths().get(key, ""))
    if hasattr(site, "getsitepackages"):
        paths.update(site.getsitepackages())
    paths |= {os.path.realpath(p) for p in paths if p}
    return _outermost({os.path.abspath(p) for p in paths if p and os.path.isdir(p)})


def binds() -> tuple[list[dict], list[tuple[str, str]]]:
    """(bind mounts, symlinks) of the read-only part of the root (the snippet's own folder is a
    separate size-capped tmpfs). A bind is
    ``{"src", "dst", "dir", "attrs"}``; system library paths that are symlinks (merged /usr) are
    recreated as symlinks instead of bound twice."""
    out: list[dict] = []
    links: list[tuple[str, str]] = []
    ro = RDONLY | NOSUID | NODEV
    lib_dirs = set()
    for p in SYSTEM_LIBS:
        if os.path.islink(p):
            links.append((p, os.readlink(p)))
        elif os.path.isdir(p):
            lib_dirs.add(p)
    for p in _outermost(lib_dirs | set(python_roots())):
        out.append({"src": p, "dst": p, "dir": True, "attrs": ro})
    exe = os.path.abspath(sys.executable)
    if not any(exe.startswith(b["dst"].rstrip("/") + "/") for b in out):
        out.append({"src": exe, "dst": exe, "dir": False, "attrs": ro})
    for dev in DEVICES:
        if os.path.exists(dev):
            out.append({"src": dev, "dst": dev, "dir": False, "attrs": NOSUID | NOEXEC})
    return out, links
