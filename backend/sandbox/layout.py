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
    keep: list[str] = []
    for p in sorted(paths, key=len):
        if not any(p == k or p.startswith(k.rstrip("/") + "/") for k in keep):
            keep.append(p)
    return sorted(keep)


def python_roots() -> list[str]:
    """The directories the interpreter needs: its standard library, site-packages (a venv's and the
    base's) and, for a shared-library build, the folder of libpython; as given and resolved. Not
    the prefix itself: for a system Python that would be all of ``/usr``, ``sh`` included."""
    paths = {sysconfig.get_paths().get(key, "") for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    if hasattr(site, "getsitepackages"):
        paths.update(site.getsitepackages())
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        paths.add(sysconfig.get_config_var("LIBDIR") or "")
    if getattr(sys, "frozen", False):  # the packaged app: its interpreter and libraries are the bundle folder
        paths.add(getattr(sys, "_MEIPASS", os.path.dirname(os.path.abspath(sys.executable))))
    paths |= {os.path.realpath(p) for p in paths if p}
    return _outermost({os.path.abspath(p) for p in paths if p and os.path.isdir(p)})


def python_files() -> list[str]:
    """The interpreter binary (as called and resolved) and a venv's ``pyvenv.cfg``, which is how
    the snippet's interpreter finds the venv's site-packages."""
    exe = os.path.abspath(sys.executable)
    files = {exe, os.path.realpath(exe)}
    for cfg in (os.path.join(os.path.dirname(exe), "pyvenv.cfg"),
                os.path.join(os.path.dirname(os.path.dirname(exe)), "pyvenv.cfg")):
        if os.path.isfile(cfg):
            files.add(cfg)
    return sorted(files)


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
    for f in python_files():
        if not any(f.startswith(b["dst"].rstrip("/") + "/") for b in out):
            out.append({"src": f, "dst": f, "dir": False, "attrs": ro})
    for dev in DEVICES:
        if os.path.exists(dev):
            out.append({"src": dev, "dst": dev, "dir": False, "attrs": NOSUID | NOEXEC})
    return out, links
