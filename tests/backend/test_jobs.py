"""The runner: ordering of events, cancel, errors, concurrency limits, isolation."""
from __future__ import annotations

import threading
import time

import pytest

from backend.jobs import JobSpec, Runner, register_job


_STATES: dict[str, dict] = {}


def new_state(key):
    _STATES[key] = {"lock": threading.Lock(), "running": 0, "peak": 0}
    return _STATES[key]


@register_job("test.gate", title="sleeps a few steps; records how many run at once")
def _gate_job(spec, ctx):
    state = _STATES[spec.params["state"]]
    with state["lock"]:
        state["running"] += 1
        state["peak"] = max(state["peak"], state["running"])
    try:
        for i in range(int(spec.params.get("steps", 5))):
            ctx.check_cancelled()
            time.sleep(0.02)
            ctx.progress((i + 1) / spec.params.get("steps", 5))
    finally:
        with state["lock"]:
            state["running"] -= 1
    return {"ok": True}


def collect(runner):
    events = []
    lock = threading.Lock()

    def cb(e):
        with lock:
            events.append(e)

    runner.subscribe(cb)
    return events


def test_progress_events_arrive_in_order(workspace):
    runner = Runner(workspace)
    events = collect(runner)
    h = runner.submit(JobSpec("demo.count", {"steps": 20, "delay": 0.06}, device="cpu"))
    assert h.wait(30) == "succeeded"
    mine = [e for e in events if e.run_id == h.run_id]
    types = [e.type for e in mine]
    assert types[0] == "queued" and types[1] == "started"
    assert types[-2:] == ["result", "finished"]
    fractions = [e.data["fraction"] for e in mine if e.type == "progress"]
    assert len(fractions) >= 5
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert [s for s, _ in workspace.metrics(h.run_id)["total"]] == list(range(20))


def test_cancel_stops_within_one_step(workspace):
    runner = Runner(workspace)
    events = collect(runner)
    h = runner.submit(JobSpec("demo.count", {"steps": 1000, "delay": 0.05}, device="cpu"))
    while not any(e.type == "metric" and e.run_id == h.run_id for e in events):
        time.sleep(0.01)
    h.cancel()
    steps_at_cancel = len([e for e in events if e.type == "metric"])
    assert h.wait(5) == "cancelled"
    steps_after = len([e for e in events if e.type == "metric"])
    assert steps_after - steps_at_cancel <= 1
    assert workspace.get_run(h.run_id).status == "cancelled"


def test_exception_recorded_with_traceback(workspace):
    runner = Runner(workspace)
    h = runner.submit(JobSpec("demo.count", {"steps": 5, "fail_at": 3, "delay": 0}, device="cpu"))
    assert h.wait(10) == "failed"
    run = workspace.get_run(h.run_id)
    assert run.status == "failed"
    assert "demo failure at step 3" in run.error
    assert "Traceback" in run.traceback and "count_job" in run.traceback


def test_two_jobs_on_one_device_respect_limit(workspace):
    state = new_state("limit1")
    runner = Runner(workspace, device_limits={"cpu": 1})
    specs = [JobSpec("test.gate", {"state": "limit1", "steps": 5}, device="cpu") for _ in range(3)]
    handles = [runner.submit(s) for s in specs]
    assert [h.wait(20) for h in handles] == ["succeeded"] * 3
    assert state["peak"] == 1

    state2 = new_state("limit2")
    runner2 = Runner(workspace, device_limits={"cpu": 2})
    handles = [runner2.submit(JobSpec("test.gate", {"state": "limit2", "steps": 10}, device="cpu")) for _ in range(4)]
    assert all(h.wait(20) == "succeeded" for h in handles)
    assert state2["peak"] == 2


def test_cancel_while_queued(workspace):
    new_state("queued")
    runner = Runner(workspace, device_limits={"cpu": 1})
    first = runner.submit(JobSpec("test.gate", {"state": "queued", "steps": 20}, device="cpu"))
    second = runner.submit(JobSpec("test.gate", {"state": "queued", "steps": 20}, device="cpu"))
    time.sleep(0.05)
    second.cancel()
    assert second.wait(5) == "cancelled"
    assert first.wait(10) == "succeeded"


def test_unknown_device_fails_clearly(workspace):
    runner = Runner(workspace)
    h = runner.submit(JobSpec("demo.count", {"steps": 1}, device="cuda:7"))
    assert h.wait(10) == "failed"
    assert "cuda:7" in h.error and "not available" in h.error


def test_unknown_kind_is_refused():
    with pytest.raises(KeyError, match="no.such.kind"):
        Runner().submit(JobSpec("no.such.kind"))


def test_isolated_job_runs_and_cancels(workspace):
    runner = Runner(workspace)
    events = collect(runner)
    h = runner.submit(JobSpec("demo.count", {"steps": 3, "delay": 0.0}, device="cpu", isolate=True))
    assert h.wait(60) == "succeeded", h.error
    assert h.result == {"steps": 3, "total": 3}
    assert any(e.type == "progress" and e.run_id == h.run_id for e in events)
    h2 = runner.submit(JobSpec("demo.count", {"steps": 10000, "delay": 0.05}, device="cpu", isolate=True))
    while not any(e.type == "metric" and e.run_id == h2.run_id for e in events):
        time.sleep(0.02)
    h2.cancel()
    assert h2.wait(15) == "cancelled"


def test_isolated_job_error_carries_child_traceback(workspace):
    runner = Runner(workspace)
    h = runner.submit(JobSpec("demo.count", {"steps": 3, "fail_at": 1, "delay": 0}, device="cpu", isolate=True))
    assert h.wait(60) == "failed"
    assert "demo failure at step 1" in h.error
