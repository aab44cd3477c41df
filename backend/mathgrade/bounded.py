"""Rule 4 under a fixed time and memory budget, in-process callers, no signals.

Sympy can spend minutes or gigabytes on a few characters (``9^9^9^9``), and Python cannot
interrupt a thread, so the comparison runs in a small pool of worker processes
(:mod:`backend.mathgrade._worker`): each comparison gets a deadline, a worker past it is killed
(and replaced in the background), and the answer counts as "not equal" with a logged reason. The
worker's address space is capped too. Callers (TTS and TTRL majority voting, in job threads)
just call :func:`compare_bounded`; it is thread-safe and never blocks longer than the deadline
plus a worker start-up.

If no worker can be started (no interpreter to spawn), the comparison runs in-process behind the
text guard of :mod:`backend.mathgrade.symbolic` alone, and that is logged once.
"""
from __future__ import annotations

import atexit
import itertools
import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger("benchtop.mathgrade")

TIME_BUDGET_S = float(os.environ.get("BENCHTOP_GRADER_BUDGET_S", "2.0"))
MEMORY_BUDGET_MB = int(os.environ.get("BENCHTOP_GRADER_MEMORY_MB", "1024"))
STARTUP_TIMEOUT_S = 60.0
MAX_WORKERS = 2
_ROOT = Path(__file__).resolve().parents[2]


class OverBudget(Exception):
    """A comparison ran past its time or memory budget (the caller counts it as not equal)."""


class _Worker:
    def __init__(self) -> None:
        if getattr(sys, "frozen", False):  # a bundled app's executable is the app, not Python
            raise OSError("a frozen app has no Python interpreter to start the sympy worker")
        env = dict(os.environ)
        env["PYTHONPATH"] = str(_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backend.mathgrade._worker", str(MEMORY_BUDGET_MB)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            bufsize=1, env=env, cwd=str(_ROOT),
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.ready = False
        threading.Thread(target=self._read, name="mathgrade-worker-reader", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)  # EOF: the worker died

    def wait_ready(self) -> None:
        if self.ready:
            return
        try:
            line = self.lines.get(timeout=STARTUP_TIMEOUT_S)
        except queue.Empty:
            line = None
        if not line or not json.loads(line).get("ready"):
            self.kill()
            raise RuntimeError(f"the sympy worker did not start within {STARTUP_TIMEOUT_S:.0f} s")
        self.ready = True

    def ask(self, rid: int, a: str, b: str, deadline: float) -> tuple[bool, str]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"id": rid, "a": a, "b": b}) + "\n")
            self.proc.stdin.flush()
        except OSError:  # it died between two comparisons (memory cap): a fresh one takes over
            raise OverBudget("the worker died before the comparison") from None
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(left, 0.0)) if left > 0 else self.lines.get_nowait()
            except queue.Empty:
                raise OverBudget(f"over the {TIME_BUDGET_S:g} s time budget") from None
            if line is None:
                raise OverBudget(f"over the {MEMORY_BUDGET_MB} MB memory budget (the worker died)")
            msg = json.loads(line)
            if msg.get("id") != rid:
                continue
            if msg.get("eq") is None:
                raise OverBudget(msg.get("why") or "over budget")
            return bool(msg["eq"]), str(msg.get("why"))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass


class _Pool:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._count = 0
        self._ids = itertools.count(1)
        self.broken: str | None = None

    def _take(self) -> _Worker:
        with self._cond:
            while True:
                while self._idle:
                    w = self._idle.pop()
                    if w.alive():
                        return w
                    self._count -= 1
                if self._count < MAX_WORKERS:
                    self._count += 1
                    break
                self._cond.wait()
        try:
            return _Worker()
        except OSError:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _give(self, w: _Worker | None, replace: bool = False) -> None:
        with self._cond:
            if w is not None and w.alive():
                self._idle.append(w)
            else:
                self._count -= 1
                if replace:  # start the successor now, so the next caller does not wait for sympy to import
                    try:
                        self._idle.append(_Worker())
                        self._count += 1
                    except OSError:
                        pass
            self._cond.notify()

    def compare(self, a: str, b: str, budget_s: float) -> tuple[bool, str]:
        w = self._take()
        try:
            w.wait_ready()
            result = w.ask(next(self._ids), a, b, time.monotonic() + budget_s)
        except OverBudget:
            w.kill()
            self._give(None, replace=True)
            raise
        except BaseException:
            w.kill()
            self._give(None)
            raise
        self._give(w)
        return result

    def shutdown(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for w in idle:
            w.kill()


_POOL = _Pool()
atexit.register(_POOL.shutdown)


def compare_bounded(p: str, r: str, budget_s: float | None = None) -> tuple[bool, str]:
    """Rule 4 on normalised answers within ``budget_s`` (default :data:`TIME_BUDGET_S`).

    Raises :class:`OverBudget` when the comparison ran out of time or memory.
    """
    from backend.mathgrade.symbolic import compare, latex_to_python, refusal

    for s in (p, r):  # refuse the known bombs here, without a round trip
        py = latex_to_python(s)
        why = refusal(py) if py else None
        if why:
            return False, f"refused to evaluate {s[:40]!r}: {why}"
    if _POOL.broken is None:
        try:
            return _POOL.compare(p, r, TIME_BUDGET_S if budget_s is None else budget_s)
        except (OSError, RuntimeError) as exc:
            _POOL.broken = str(exc)
            log.warning("grader: no sympy worker (%s); comparing in-process behind the text guard only", exc)
    return compare(p, r)
