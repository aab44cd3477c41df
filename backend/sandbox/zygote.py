"""Benchtop's end of the launcher server (the zygote in :mod:`backend.sandbox._launch`).

Why: every sandbox run needs a single-threaded launcher process to create namespaces; starting
a fresh interpreter for it cost ~50 ms per snippet, which GenPRM pays thousands of times. One
server per Benchtop process, started on first use, forks a launcher per request instead. It
holds no state between runs (each fork starts from the same pristine server), runs with a fixed
environment, and exits when this process's end of the socket closes (exit or crash alike).
"""
from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import threading


class Zygote:
    """A lazily started launcher server; ``request`` is safe from any thread."""

    def __init__(self, launcher_source: str, env: dict[str, str]) -> None:
        self._source, self._env = launcher_source, env
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen | None = None
        self._owner = -1
        atexit.register(self.close)

    def request(self, payload: bytes, fds: list[int]) -> int:
        """Hand one run to the server: the config and the run's stdout, stderr and status pipe
        ends (the caller closes its copies). Starts or restarts the server as needed; returns
        the server's pid (the launcher's parent); raises OSError when no server can be reached."""
        with self._lock:
            for attempt in (0, 1):
                if (self._sock is None or self._proc is None or self._owner != os.getpid()
                        or self._proc.poll() is not None):
                    self._start()
                sock, proc = self._sock, self._proc
                assert sock is not None and proc is not None  # _start() set both or raised
                try:
                    socket.send_fds(sock, [payload], fds)
                    return proc.pid
                except OSError:
                    self._drop()
                    if attempt:
                        raise
            raise AssertionError("unreachable: the second attempt returns or raises")

    def _start(self) -> None:
        self._drop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", "-c", self._source, "serve", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), env=self._env, cwd="/", stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        self._sock, self._owner = ours, os.getpid()

    def _drop(self) -> None:
        if self._sock is not None and self._owner == os.getpid():
            self._sock.close()
            if self._proc is not None:
                try:
                    self._proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
        self._sock, self._proc = None, None

    def close(self) -> None:
        """Stop the server (it exits on EOF); runs still in flight die with it (their launchers'
        parent-death signal), which is what Benchtop's exit should do to them."""
        with self._lock:
            self._drop()
