"""The Ray executor against the local one, through the real CLI (in-process, so the job runs on
the runner's worker thread) on a tiny policy and a tiny PRM: the same seed must give exactly the
same figures whatever the executor and shard count. One local Ray (2 CPUs) is shared by the module."""
from __future__ import annotations

import json
import time

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install benchtop[cluster])")

from tests.backend._scale_helpers import pb_rows, small_problems  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    from backend.scale import ray_runtime

    started = not ray.is_initialized()
    ray_runtime.ensure_ray("")
    yield ray
    if started:
        ray_runtime.shutdown()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from backend.ttrl.tiny import build_tiny_policy
    from tests.backend._prm_models import make_prm

    root = tmp_path_factory.mktemp("scale")
    policy = build_tiny_policy(root / "tiny", seed=2)
    data = root / "problems.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in small_problems()))
    prm = make_prm(root / "prm", "token-classification")
    pb = root / "pb.jsonl"
    pb.write_text("".join(json.dumps(r) + "\n" for r in pb_rows(40)))
    return root, policy, data, prm, pb


def _cli(capsys, *args: str) -> dict:
    from backend.cli import main

    rc = main(list(args))
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out)["result"]


SMALL = ["--max-steps", "2", "--max-tokens", "10", "--step-tokens", "5", "--temperature", "1.0", "--seed", "3"]
FIGURES = ("runs", "compute_optimal", "problems", "bins", "bin_counts")


def test_tts_sweep_ray_equals_local(local_ray, models, capsys):
    root, policy, data, _, _ = models
    ws = str(root / "ws")
    common = ["--workspace", ws, "tts", "sweep", "--policy", str(policy), "--prm", "reference:arithmetic",
              "--data", str(data), "--strategies", "greedy,majority,weighted_bon,beam", "--ns", "1,2", *SMALL, "--json"]
    local = _cli(capsys, *common, "--out", str(root / "sw_local"))
    on_ray = _cli(capsys, *common, "--out", str(root / "sw_ray"), "--executor", "ray", "--shards", "3")
    assert (local["executor"], local["shards"]) == ("local", 1)
    assert (on_ray["executor"], on_ray["shards"], on_ray["ray_address"]) == ("ray", 3, "local")
    for key in FIGURES:
        assert on_ray[key] == local[key], key
    assert (root / "sw_local" / "details.jsonl").read_text() == (root / "sw_ray" / "details.jsonl").read_text()
    assert on_ray["timing"]["generation"]["generated_tokens"] == local["timing"]["generation"]["generated_tokens"]
    assert on_ray["prompt"] == local["prompt"]


def test_processbench_ray_equals_local(local_ray, models, capsys):
    root, _, _, prm, pb = models
    ws = str(root / "ws")
    common = ["--workspace", ws, "prm", "processbench", "--prm", str(prm), "--data", str(pb), "--json"]
    local = _cli(capsys, *common)
    on_ray = _cli(capsys, *common, "--executor", "ray", "--shards", "2")
    assert (local["shards"], on_ray["shards"], on_ray["executor"]) == (1, 2, "ray")
    for key in ("subsets", "average_f1", "samples", "sweep"):
        assert on_ray[key] == local[key], key
    assert len(local["samples"]) == 40


def test_failing_shard_names_itself(local_ray):
    from backend.scale import ExecutorParams, ShardError, plan_shards, run_shards
    from tests.backend._scale_helpers import FakeCtx, fail_on_item

    shards = plan_shards(6, 3)
    with pytest.raises(ShardError) as err:
        run_shards(fail_on_item, shards, 4, ExecutorParams(executor="ray"), FakeCtx())
    assert "shard 3/3 (items 4-5)" in str(err.value) and "ValueError: item 4 is bad" in str(err.value)


def test_cancel_stops_the_tasks(local_ray):
    from backend.jobs.context import JobCancelled
    from backend.scale import ExecutorParams, plan_shards, run_shards
    from tests.backend._scale_helpers import FakeCtx, add_one, sleep_long

    ctx = FakeCtx(cancel_after=1.0)
    t0 = time.perf_counter()
    with pytest.raises(JobCancelled):
        run_shards(sleep_long, plan_shards(2, 2), 60.0, ExecutorParams(executor="ray"), ctx)
    assert time.perf_counter() - t0 < 20
    # both CPUs are free again at once: the 60-second tasks were stopped, not left running
    t0 = time.perf_counter()
    assert run_shards(add_one, plan_shards(2, 2), 0, ExecutorParams(executor="ray"), FakeCtx()) == [1, 2]
    assert time.perf_counter() - t0 < 15


def test_models_load_once_per_worker(local_ray):
    from backend.scale import ExecutorParams, plan_shards, run_shards
    from tests.backend._scale_helpers import FakeCtx, count_builds

    got = run_shards(count_builds, plan_shards(8, 8), "model-a", ExecutorParams(executor="ray"), FakeCtx())
    per_pid: dict[int, int] = {}
    for pid, builds in got:
        per_pid[pid] = max(per_pid.get(pid, 0), builds)
    assert len(got) == 8 and set(per_pid.values()) == {1}     # 8 shards, each worker built the model once


@pytest.mark.slow   # ~20 s on 2 cores (a child process importing torch); run with -m slow
def test_isolated_job_uses_ray_too(local_ray, models, tmp_path):
    """An ``isolate=True`` job runs in a child process; its executor must start (or join) Ray there."""
    from backend.jobs import JobSpec, Runner

    root, _, _, prm, pb = models
    spec = JobSpec("prm.processbench", params={"prm": str(prm), "executor": "ray", "shards": 2, "limit": 20},
                   inputs={"data": str(pb)}, device="cpu", isolate=True)
    h = Runner(scratch_dir=tmp_path).submit(spec)
    assert h.wait(120) == "succeeded", h.error
    assert (h.result["executor"], h.result["shards"]) == ("ray", 2) and len(h.result["samples"]) == 20


def test_ttrl_rollouts_and_eval_on_ray_equal_local(local_ray, models, tmp_path):
    """TTRL's rollouts and evaluation with the policy's weights shipped to Ray workers each step."""
    from backend.scale import ExecutorParams
    from backend.ttrl.trainer import NullContext, train
    from tests.backend._scale_helpers import ttrl_cfg, ttrl_files, ttrl_rollouts

    _, policy, _, _, _ = models
    prompts, labelled = ttrl_files(tmp_path)
    here, there = NullContext(), NullContext()
    train(policy, prompts, tmp_path / "local", ttrl_cfg(), eval_path=labelled, ctx=here)
    r = train(policy, prompts, tmp_path / "ray", ttrl_cfg(), eval_path=labelled, ctx=there,
              executor=ExecutorParams(executor="ray", shards=2))
    assert (r["executor"], r["shards"]) == ("ray", 2)
    assert here.metrics["eval/pass@1"] == there.metrics["eval/pass@1"]
    assert here.metrics["eval/maj@N"] == there.metrics["eval/maj@N"] and here.metrics["loss"] == there.metrics["loss"]
    assert ttrl_rollouts(tmp_path / "local") == ttrl_rollouts(tmp_path / "ray") != []


def test_merge_study_on_ray_equals_local(local_ray, tiny_zoo, tmp_path):
    """The merging panel's study with T-Switch: the composed per-task models are built in the workers."""
    from backend.merging.study import run_study
    from backend.scale import ExecutorParams

    fts = {"add": str(tiny_zoo / "arith-ft-add"), "sub": str(tiny_zoo / "arith-ft-sub")}
    local = run_study(str(tiny_zoo / "arith-base"), fts, "tswitch", {"drop": 0.6}, tmp_path / "local", limit=16)
    ray = run_study(str(tiny_zoo / "arith-base"), fts, "tswitch", {"drop": 0.6}, tmp_path / "ray", limit=16,
                    executor=ExecutorParams(executor="ray", shards=2))
    assert (ray["executor"], ray["shards"]) == ("ray", 2)
    assert local["accuracy"] == ray["accuracy"] and "T-Switch (oracle task)" in ray["accuracy"]
