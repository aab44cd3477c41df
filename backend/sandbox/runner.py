"""Run untrusted Python (a verifier's snippet) in a separate, limited process.

Why not ``exec`` in-process like GenPRM's reference executor: a snippet could loop forever,
fork, allocate all memory, open sockets or delete the user's files, and SIGALRM timeouts only
work in the main thread (Qt workers are not). Layers, each independent:

* a fresh interpreter (``python -I``: no user site, no PYTHON* variables, no cwd on the path),
  in its own process group, started from any thread (``subprocess`` + ``wait(timeout)``);
* wall-clock timeout (the process group is killed) and CPU-time, address-space (memory),
  file-size, open-file and process-count rlimits set in the child;
* a private temporary working directory, removed afterwards; ``HOME``/``TMPDIR`` point into it;
* an audit hook (PEP 578) in the child that refuses opening files outside that folder (read-only
  access to the Python installation is allowed so that numpy/sympy import), writing anywhere
  else, listing or removing outside it, sockets, fork/exec/subprocess and ctypes;
* a private network namespace (``unshare -n``, or ``unshare -rn`` for a normal user) when the
  system allows it: even code that slips past the audit hook has no network interface but a
  loopback that is down;
* stdout+stderr capped at ``max_output_bytes``: the process is killed once it prints more.

Audit hooks are not a security boundary on their own (a C extension can bypass them); the
process limits and the namespace are what hold then. ``RLIMIT_NPROC`` is ignored by the kernel
for root, where the fork refusal in the hook is what stops a fork bomb.
Each run is fresh: nothing a snippet defines is visible to the next one.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

_BOOT = (Path(__file__).with_name("_boot.py")).read_text(encoding="utf-8")
MEMORY_EXIT = 86


@dataclass
class SandboxResult:
    """What happened: ``status`` is ok | error | timeout | cpu_limit | memory_limit | output_limit |
    refused | killed | failed_to_start; ``reason`` says why in words."""

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


@lru_cache(maxsize=1)
def network_isolation() -> list[str]:
    """The ``unshare`` prefix that gives the child its own network namespace here, or []."""
    exe = shutil.which("unshare")
    if exe is None or sys.platform != "linux":
        return []
    for flags in (["-n"], ["-rn"]):
        try:
            r = subprocess.run([exe, *flags, "true"], capture_output=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            continue
        if r.returncode == 0:
            return [exe, *flags]
    return []


def _nproc_limit() -> int:
    """Processes (threads included) the child may have: this user's current count plus a few."""
    uid = os.getuid()
    count = 0
    for d in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if d.isdigit():
            try:
                if os.stat(f"/proc/{d}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count + 16


def _read_roots() -> list[str]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_paths().get(key, ""))
    return sorted(p for p in paths if p)


def _reader(stream, sink: list[bytes], budget: dict, lock: threading.Lock, on_overflow) -> None:
    while True:
        chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
        if not chunk:
            return
        with lock:
            room = budget["left"]
            if room > 0:
                sink.append(chunk[:room])
            budget["left"] = room - len(chunk)
            over = budget["left"] < 0
        if over:
            on_overflow()


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass


def run_python(code: str, timeout: float = 5.0, memory_mb: int = 512, max_output_bytes: int = 65536,
               cpu_seconds: int | None = None, file_mb: int = 16) -> SandboxResult:
    """Run ``code`` in a fresh limited interpreter and report how it ended (never raises for
    anything the snippet does; safe to call from any thread)."""
    tmp = tempfile.mkdtemp(prefix="benchtop-sandbox-")
    start = time.perf_counter()
    try:
        Path(tmp, "snippet.py").write_text(code, encoding="utf-8")
        cfg = {"tmp": tmp, "memory_mb": int(memory_mb), "cpu_seconds": int(cpu_seconds or max(1, int(timeout) + 1)),
               "file_mb": int(file_mb), "nproc": _nproc_limit(), "read_roots": _read_roots()}
        env = {"HOME": tmp, "TMPDIR": tmp, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        prefix = network_isolation()
        cmd = [*prefix, sys.executable, "-I", "-B", "-c", _BOOT, json.dumps(cfg)]
        try:
            proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True, close_fds=True)
        except OSError as exc:
            return SandboxResult("failed_to_start", f"could not start the sandbox interpreter: {exc}", "", "", None,
                                 time.perf_counter() - start)
        out, err, lock = [], [], threading.Lock()
        budget = {"left": int(max_output_bytes)}
        overflow = threading.Event()

        def on_overflow() -> None:
            overflow.set()
            _kill_group(proc)

        readers = [threading.Thread(target=_reader, args=(s, sink, budget, lock, on_overflow), daemon=True)
                   for s, sink in ((proc.stdout, out), (proc.stderr, err))]
        for t in readers:
            t.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            proc.wait()
        _kill_group(proc)  # anything the snippet left behind in its group
        for t in readers:
            t.join(2.0)
        duration = time.perf_counter() - start
        stdout = b"".join(out).decode("utf-8", "replace")
        stderr = b"".join(err).decode("utf-8", "replace")
        status, reason = _classify(proc.returncode, timed_out, overflow.is_set(), stderr, timeout, memory_mb,
                                   max_output_bytes, cfg["cpu_seconds"])
        refused = [ln[len("[sandbox] refused: "):] for ln in stderr.splitlines() if ln.startswith("[sandbox] refused: ")]
        if status == "error" and refused:
            status, reason = "refused", f"refused: {refused[0]}"
        iso = ("network namespace (" + " ".join(prefix[1:]) + ")") if prefix else "no network namespace (audit hook only)"
        return SandboxResult(status, reason, stdout, stderr, proc.returncode, duration, refused, iso)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
