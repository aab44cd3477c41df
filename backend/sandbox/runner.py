"""Run untrusted Python (a verifier's snippet) behind walls the kernel enforces.

Why not an in-process guard: anything living in the snippet's interpreter (an audit hook, a
patched ``open``) is reachable by the snippet, and C-level calls skip it. So the walls are
namespaces, mounts and filters set up by :mod:`backend.sandbox._launch` before the snippet's
interpreter starts; see that file for the stages and docs/prm.md for what each hostile snippet
must not achieve. In force for every run (``SandboxResult.isolation`` lists them):

* user, mount, pid, network, IPC, UTS and cgroup namespaces; the snippet is uid 65534 inside and
  an unprivileged uid outside (65534 when Benchtop runs as root, else Benchtop's own uid);
* a read-only root holding only the interpreter, its libraries, ``/dev/{null,zero,full,random,
  urandom}``, a fresh ``/proc`` of its own pid namespace and its own writable folder;
* no capabilities, ``no_new_privs``, a seccomp filter (:mod:`backend.sandbox.seccomp`), landlock
  where the kernel has it; rlimits (address space, CPU, file size, open files, processes);
* a wall clock and an output cap: the sandbox's pid 1 is killed, and with it every process the
  snippet started (setsid or not); ``run_python`` returns only once they are all gone;
* the PEP 578 audit hook of :mod:`backend.sandbox._boot` as an extra layer (readable refusals).

Where the kernel lacks a feature, ``status`` is ``unavailable`` and ``reason`` says what to enable;
the snippet never runs in a weaker mode.
"""
from __future__ import annotations

import marshal
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from backend.sandbox import layout, seccomp
from backend.sandbox.zygote import Zygote

_HERE = Path(__file__).parent
_BOOT = (_HERE / "_boot.py").read_text(encoding="utf-8")
_LAUNCH = (_HERE / "_launch.py").read_text(encoding="utf-8")
MEMORY_EXIT = 86
SANDBOX_UID = 65534  # "nobody": the uid inside, and outside when Benchtop runs as root
SIMULATE_ENV = "BENCHTOP_SANDBOX_SIMULATE_MISSING"  # tests: make one set-up stage fail
LAYERS = ("user namespace (uid 65534, no capabilities)", "mount namespace (minimal read-only root)",
          "pid namespace", "network namespace (no interface)", "ipc/uts/cgroup namespaces", "no_new_privs",
          "seccomp filter")
SAFE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8", "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
_ZYGOTE = Zygote(_LAUNCH, SAFE_ENV)


@dataclass
class SandboxResult:
    """What happened: ``status`` is ok | error | timeout | cpu_limit | memory_limit | output_limit |
    refused | killed | unavailable | failed_to_start; ``reason`` says why in words."""

    status: str
    reason: str
    stdout: str
    stderr: str
    exit_code: int | None
    duration: float
    refused: list[str] = field(default_factory=list)
    isolation: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        return asdict(self)


def _positive(name: str, value: Any, integer: bool = False, most: float = 2.0 ** 40) -> float:
    """Reject what would silently weaken a limit: zero, negative, NaN, infinity, non-numbers, and
    values too large for the kernel's rlimit fields. ``value`` may be text (the CLI's)."""
    kind = "whole number" if integer else "number"
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        v = float("nan")
    if isinstance(value, bool) or not math.isfinite(v) or v <= 0 or (integer and v != int(v)):
        raise ValueError(f"{name} must be a positive, finite {kind}, got {value!r}")
    if v > most:
        raise ValueError(f"{name} must be at most {most:g}, got {value!r}")
    return v


def validate_limits(timeout: object, memory_mb: object, max_output_bytes: object = 1, cpu_seconds: object = None,
                    file_mb: object = 1, nproc: object = 1, work_mb: object = 1) -> None:
    """Raise ValueError (one line, naming the option) for any limit that is not positive and finite."""
    _positive("timeout", timeout, most=7 * 86400)
    _positive("memory_mb", memory_mb, integer=True)
    _positive("max_output_bytes", max_output_bytes, integer=True)
    _positive("file_mb", file_mb, integer=True)
    _positive("nproc", nproc, integer=True, most=4096)
    _positive("work_mb", work_mb, integer=True, most=1 << 20)
    if cpu_seconds is not None:
        _positive("cpu_seconds", cpu_seconds, integer=True, most=7 * 86400)


@lru_cache(maxsize=1)
def _static_config() -> dict:
    """The parts of the launch configuration that do not change between runs."""
    nrs = seccomp.syscall_numbers()
    return {"syscalls": {k: nrs[k] for k in ("pivot_root", "mount_setattr", "landlock_create_ruleset",
                                             "landlock_add_rule", "landlock_restrict_self")},
            "seccomp": seccomp.program().hex(), "inner_uid": SANDBOX_UID, "root_uid": SANDBOX_UID,
            "root_gid": SANDBOX_UID, "read_roots": layout.python_roots()}


@lru_cache(maxsize=1)
def _layout() -> tuple[list[dict], list[tuple[str, str]]]:
    return layout.binds()


def _reader(stream, sink: list[bytes], budget: dict | None, lock: threading.Lock, on_overflow) -> None:
    while True:
        try:
            chunk = stream.read1(65536)
        except (OSError, ValueError):  # closed by run_python after a reader outlived its join
            return
        if not chunk:
            return
        if budget is None:
            sink.append(chunk)
            continue
        with lock:
            room = budget["left"]
            if room > 0:
                sink.append(chunk[:room])
            budget["left"] = room - len(chunk)
            over = budget["left"] < 0
        if over:
            on_overflow()


def _make_folders(uid: int | None) -> tuple[str, str, str]:
    base = tempfile.mkdtemp(prefix="benchtop-sandbox-")
    work, root = os.path.join(base, "work"), os.path.join(base, "root")
    os.mkdir(work, 0o700)
    os.mkdir(root, 0o700)
    if uid is not None:  # Benchtop is root: the sandbox runs as uid 65534 and must own its folder
        for p in (base, work, root):
            os.chown(p, uid, uid)
    return base, work, root


def _remove(base: str) -> None:
    def retry(func, path, _exc):  # a snippet may leave a folder without write permission
        try:
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
            func(path)
        except OSError:
            pass

    shutil.rmtree(base, onerror=retry)


def run_python(code: str, timeout: float = 5.0, memory_mb: int = 512, max_output_bytes: int = 65536,
               cpu_seconds: int | None = None, file_mb: int = 16, nproc: int = 32, work_mb: int = 64,
               audit_hook: bool = True) -> SandboxResult:
    """Run ``code`` in a fresh sandbox and report how it ended. Raises ValueError for a limit that
    is not positive and finite; never raises for anything the snippet does; safe from any thread.
    ``audit_hook=False`` leaves out the in-process layer (tests use it to show the kernel's walls
    hold on their own)."""
    validate_limits(timeout, memory_mb, max_output_bytes, cpu_seconds, file_mb, nproc, work_mb)
    start = time.perf_counter()
    try:
        static = _static_config()
    except KeyError as exc:
        return SandboxResult("unavailable", f"sandbox unavailable: {exc.args[0]}", "", "", None, 0.0)
    base, work, root = _make_folders(SANDBOX_UID if os.geteuid() == 0 else None)
    try:
        snippet = os.path.join(base, "snippet.py")
        Path(snippet).write_text(code, encoding="utf-8")
        cpu = int(cpu_seconds or max(1, math.ceil(timeout) + 1))
        boot_cfg = {"tmp": work, "read_roots": static["read_roots"], "audit_hook": bool(audit_hook)}
        env = {**SAFE_ENV, "HOME": work, "TMPDIR": work}
        binds, links = _layout()
        cfg = {**static, "root": root, "work": work, "binds": binds, "symlinks": links, "memory_mb": int(memory_mb),
               "cpu_seconds": cpu, "file_mb": int(file_mb), "nproc": int(nproc), "work_mb": int(work_mb),
               "snippet": snippet, "python": sys.executable, "env": env,
               "argv": [sys.executable, "-I", "-B", "-c", _BOOT, marshal.dumps(boot_cfg).hex()],
               "simulate_missing": os.environ.get(SIMULATE_ENV, "")}
        pipes = [os.pipe() for _ in range(3)]  # stdout, stderr, status
        try:
            server = _ZYGOTE.request(marshal.dumps(cfg), [w for _, w in pipes])
        except OSError as exc:
            for r, _ in pipes:
                os.close(r)
            return SandboxResult("failed_to_start", f"could not start the sandbox launcher: {exc}", "", "", None,
                                 time.perf_counter() - start)
        finally:
            for _, w in pipes:
                os.close(w)
        streams = [os.fdopen(r, "rb") for r, _ in pipes]
        try:
            res = _supervise(streams, server, start, timeout, int(memory_mb), int(max_output_bytes), cpu)
        finally:
            for f in streams:
                f.close()
        if audit_hook and res.isolation:
            res.isolation += "; audit hook (extra layer)"
        return res
    finally:
        _remove(base)


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[1])


def _supervise(streams: list, server: int, start: float, timeout: float, memory_mb: int, max_output: int,
               cpu: int) -> SandboxResult:
    """Collect the run's output and status lines, enforce the wall clock and the output cap. The
    status pipe reaches EOF only when the launcher exits, i.e. once the sandbox's pid namespace
    is empty, so returning after it means nothing of the snippet is left running."""
    out: list[bytes] = []
    err: list[bytes] = []
    st: list[bytes] = []
    lock = threading.Lock()
    budget = {"left": max_output}
    overflow = threading.Event()

    def parsed() -> dict:
        """The first line of each kind (the launcher writes each once, before the snippet exists)."""
        out: dict[str, str] = {}
        for ln in b"".join(st).decode("utf-8", "replace").splitlines():
            if len(ln) > 1:
                out.setdefault(ln[0], ln[2:])
        return out

    def kill(key: str) -> None:
        """SIGKILL the launcher (P) or the sandbox's pid 1 (C), each only after checking it is the
        child of the process that must have started it, never a pid taken on trust."""
        info = parsed()
        try:
            pid = int(info.get(key, ""))
            parent = server if key == "P" else int(info.get("P", ""))
        except ValueError:
            return
        if _parent_of(pid) == parent:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def stop() -> None:
        """Kill the sandbox's pid 1 (the kernel then kills everything in its pid namespace), or
        the launcher while pid 1 does not exist yet (pid 1 has the launcher as parent-death
        signal), and wait for the launcher to see the namespace gone."""
        for _ in range(50):  # the server may not have forked the launcher yet
            if "C" in parsed() or "P" in parsed() or not status_reader.is_alive():
                break
            status_reader.join(0.1)
        kill("C" if "C" in parsed() else "P")
        status_reader.join(5)
        if status_reader.is_alive():
            kill("P")
            kill("C")
            status_reader.join(5)

    def on_overflow() -> None:
        overflow.set()
        stop()

    readers = [threading.Thread(target=_reader, args=(s, sink, b, lock, on_overflow), daemon=True)
               for s, sink, b in ((streams[0], out, budget), (streams[1], err, budget), (streams[2], st, None))]
    status_reader = readers[2]
    for t in readers:
        t.start()
    status_reader.join(timeout)
    timed_out = status_reader.is_alive() and not overflow.is_set()
    if timed_out:
        stop()
    status_reader.join(10)
    for t in readers[:2]:
        t.join(2.0)
    duration = time.perf_counter() - start
    info = parsed()
    stdout = b"".join(out).decode("utf-8", "replace")
    stderr = b"".join(err).decode("utf-8", "replace")
    if "E" in info:
        return SandboxResult("unavailable", "sandbox unavailable, the snippet was not run: " + info["E"], stdout,
                             stderr, None, duration)
    layers = list(LAYERS) + [x for x in info.get("L", "").split(",") if x] + ["rlimits (memory, cpu, files, processes)"]
    code = os.waitstatus_to_exitcode(int(info["S"])) if "S" in info else None
    if code is None and not (timed_out or overflow.is_set()):
        return SandboxResult("failed_to_start", "the sandbox launcher ended without a result: "
                             + stderr.strip()[-300:], stdout, stderr, None, duration)
    status_, reason = _classify(code, timed_out, overflow.is_set(), stderr, timeout, memory_mb, max_output, cpu)
    refused = [ln[len("[sandbox] refused: "):] for ln in stderr.splitlines() if ln.startswith("[sandbox] refused: ")]
    if status_ == "error" and refused:
        status_, reason = "refused", f"refused: {refused[0]}"
    return SandboxResult(status_, reason, stdout, stderr, code, duration, refused, "; ".join(layers))


def _classify(code: int | None, timed_out: bool, overflow: bool, stderr: str, timeout: float, memory_mb: int,
              max_output: int, cpu_s: int) -> tuple[str, str]:
    if overflow:
        return "output_limit", f"output exceeded {max_output} bytes; the process was stopped"
    if timed_out:
        return "timeout", f"wall-clock limit of {timeout:g} s exceeded; the process was stopped"
    if code == 0:
        return "ok", "finished normally"
    if code == MEMORY_EXIT or "MemoryError" in stderr:
        return "memory_limit", f"memory limit of {memory_mb} MB reached"
    if code is not None and code < 0:
        sig = -code
        if sig == signal.SIGXCPU:
            return "cpu_limit", f"CPU-time limit of {cpu_s} s exceeded"
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        return "killed", f"killed by signal {name}" + (" (likely the memory limit)" if sig in (9, 11) else "")
    last = next((ln for ln in reversed(stderr.strip().splitlines()) if ln.strip()), "")
    return "error", f"exited with code {code}" + (f": {last.strip()}" if last else "")


@lru_cache(maxsize=1)
def sandbox_support() -> tuple[bool, str]:
    """(usable here, the layers in force or why not): one trivial run, cached per process."""
    r = run_python("pass", timeout=20)
    return (r.status == "ok", r.isolation if r.status == "ok" else r.reason)
