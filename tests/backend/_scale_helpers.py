"""Shared by the executor tests: small data sets, a stand-in job context, and shard functions
(module-level so a Ray worker can import them)."""
from __future__ import annotations

import threading
import time

from backend.jobs.context import JobCancelled


def small_problems() -> list[dict]:
    pairs = [("(4+5)*2", "18"), ("9-4", "5"), ("((2+3)*4)-1", "19"), ("7*3", "21"), ("8-2*3", "2")]
    return [{"problem": p, "answer": a, "level": 1} for p, a in pairs]


def pb_rows(n: int) -> list[dict]:
    """``n`` ProcessBench rows over two subsets with mixed labels (several CHUNKs of 16)."""
    rows = []
    for i in range(n):
        a, b = i % 7 + 1, i % 5 + 2
        wrong = i % 3 == 0
        steps = [f"{a}+{b}={a + b + (1 if wrong else 0)}", f"{a + b}*2={2 * (a + b)}"]
        rows.append({"id": f"{'gsm8k' if i % 2 else 'math'}-{i}", "problem": f"({a}+{b})*2", "steps": steps,
                     "final_answer_correct": not wrong, "label": 0 if wrong else -1})
    return rows


class FakeCtx:
    """The part of JobContext the executor uses; cancels itself ``cancel_after`` seconds in."""

    def __init__(self, cancel_after: float | None = None) -> None:
        self.events: list[tuple[float, str]] = []
        self._flag = threading.Event()
        self._t0 = time.monotonic()
        self._after = cancel_after

    @property
    def cancelled(self) -> bool:
        if self._after is not None and time.monotonic() - self._t0 > self._after:
            self._flag.set()
        return self._flag.is_set()

    def check_cancelled(self) -> None:
        if self.cancelled:
            raise JobCancelled()

    def progress(self, fraction: float, message: str = "") -> None:
        self.events.append((fraction, message))


def add_one(common: int, shard) -> int:  # noqa: ANN001 - a Shard
    return common + shard.items[0] + 1


def fail_on_item(bad: int, shard) -> list[int]:  # noqa: ANN001
    if bad in shard.items:
        raise ValueError(f"item {bad} is bad")
    return list(shard.items)


def sleep_long(seconds: float, shard) -> int:  # noqa: ANN001
    from backend.scale.worker import should_stop

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        should_stop()
        time.sleep(0.05)
    return len(shard.items)


BUILDS: list[int] = []


def count_builds(key: str, shard) -> tuple[int, int]:  # noqa: ANN001
    """(worker pid, how many times this process built ``key``): a model memo must build once."""
    import os

    from backend.scale.worker import memo

    def build() -> object:
        BUILDS.append(1)
        time.sleep(0.2)
        return object()

    memo(key, build)
    return os.getpid(), len(BUILDS)


def ttrl_files(root) -> tuple:  # noqa: ANN001 - a Path
    """An unlabeled prompt file and a labelled eval file of 10 problems (2 eval chunks of 8)."""
    import json

    pairs = [(f"{a}+{b}", str(a + b)) for a in range(2) for b in range(5)]
    prompts = root / "ttrl_prompts.jsonl"
    prompts.write_text("".join(json.dumps({"problem": p}) + "\n" for p, _ in pairs[:6]))
    labelled = root / "ttrl_eval.jsonl"
    labelled.write_text("".join(json.dumps({"problem": p, "answer": a}) + "\n" for p, a in pairs))
    return prompts, labelled


def ttrl_cfg():  # noqa: ANN201 - TTRLConfig
    from backend.ttrl.config import TTRLConfig

    return TTRLConfig(steps=1, prompts_per_step=2, n_votes=4, n_train=2, max_new_tokens=8, lr=1e-3, eval_every=1,
                      eval_n=2, checkpoint_every=10, seed=5, rollout_batch=1)   # 2 rollout batches a step


def ttrl_rollouts(out) -> list:  # noqa: ANN001 - a run folder
    """Every step's rollout texts of a TTRL run, in order."""
    import json

    return [[s["text"] for g in json.loads(f.read_text())["groups"] for s in g["samples"]]
            for f in sorted((out / "rollouts").glob("step-*.json"))]
