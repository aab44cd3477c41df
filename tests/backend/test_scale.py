"""Shard planning and the local executor (no Ray needed), and the refusal when Ray is missing."""
from __future__ import annotations

import dataclasses
import json
import sys

import pytest

from backend.jobs.context import JobCancelled
from backend.scale import ExecutorParams, ShardError, plan_shards, run_shards
from backend.scale.shards import split_items
from tests.backend._scale_helpers import FakeCtx, add_one, fail_on_item, pb_rows, small_problems


@pytest.mark.parametrize("n,k,align", [(10, 3, 1), (7, 7, 1), (5, 9, 1), (40, 2, 16), (40, 5, 16), (1, 1, 4)])
def test_split_covers_in_order_on_aligned_cuts(n, k, align):
    runs = split_items(n, k, align)
    assert [i for r in runs for i in r] == list(range(n))
    assert 1 <= len(runs) <= k and all(r for r in runs)
    assert all(r[0] % align == 0 for r in runs)
    sizes = [len(r) for r in runs[:-1]]
    assert not sizes or max(sizes) - min(sizes) <= align


def test_plan_weights_sum_to_one_over_parts():
    shards = plan_shards(6, 2, [("sampled", 1.0), ("beam@2", 0.5)])
    assert [(s.part, s.items) for s in shards] == [("sampled", (0, 1, 2)), ("sampled", (3, 4, 5)),
                                                    ("beam@2", (0, 1, 2)), ("beam@2", (3, 4, 5))]
    assert abs(sum(s.weight for s in shards) - 1.0) < 1e-12 and shards[0].weight == 2 * shards[2].weight


def test_local_runs_in_order_reports_and_names_a_failing_shard():
    ctx = FakeCtx()
    assert run_shards(add_one, plan_shards(3, 3), 10, ExecutorParams(), ctx) == [11, 12, 13]
    assert ctx.events[-1][0] == pytest.approx(1.0)
    with pytest.raises(ShardError, match=r"shard 2/2 \(items 3-5\) failed: ValueError: item 4 is bad"):
        run_shards(fail_on_item, plan_shards(6, 2), 4, ExecutorParams(), FakeCtx())
    with pytest.raises(ValueError, match="item 4 is bad"):        # one shard: the original error, unchanged
        run_shards(fail_on_item, plan_shards(6, 1), 4, ExecutorParams(), FakeCtx())


def test_local_cancel_stops_between_shards():
    ctx = FakeCtx(cancel_after=0.0)
    with pytest.raises(JobCancelled):
        run_shards(add_one, plan_shards(3, 3), 0, ExecutorParams(), ctx)
    assert ctx.events == []


def test_executor_params_validate():
    assert ExecutorParams.from_params({"executor": "ray", "shards": "4"}).shards == 4
    with pytest.raises(ValueError, match="executor"):
        ExecutorParams.from_params({"executor": "dask"})
    assert ExecutorParams(executor="ray").describe_run(2) == {"executor": "ray", "shards": 2, "ray_address": "local"}


def test_ray_missing_is_one_clear_line(monkeypatch, tmp_path, capsys):
    from backend.cli import main
    from backend.scale.ray_runtime import RayMissing, import_ray

    monkeypatch.setitem(sys.modules, "ray", None)          # as if the cluster extra were not installed
    with pytest.raises(RayMissing, match=r"pip install benchtop\[cluster\]"):
        import_ray()
    data = tmp_path / "p.jsonl"
    data.write_text(json.dumps(small_problems()[0]) + "\n")
    rc = main(["--workspace", str(tmp_path / "ws"), "tts", "sweep", "--policy", str(tmp_path), "--data", str(data),
               "--strategies", "majority", "--out", str(tmp_path / "o"), "--executor", "ray"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err == ["error: executor=ray needs Ray, which is not installed: pip install benchtop[cluster]"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from backend.ttrl.tiny import build_tiny_policy
    from tests.backend._prm_models import make_prm

    root = tmp_path_factory.mktemp("scale_local")
    data = root / "problems.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in small_problems()))
    pb = root / "pb.jsonl"
    pb.write_text("".join(json.dumps(r) + "\n" for r in pb_rows(40)))
    return root, build_tiny_policy(root / "tiny", seed=2), data, make_prm(root / "prm", "token-classification"), pb


def _run(kind: str, params: dict, inputs: dict, tmp: object) -> dict:
    from backend.jobs import JobSpec, Runner

    h = Runner(scratch_dir=tmp).submit(JobSpec(kind, params=params, inputs=inputs, device="cpu"))
    assert h.wait(240) == "succeeded", h.error
    return h.result


def test_shard_count_does_not_change_the_figures_locally(models, tmp_path):
    root, policy, data, prm, pb = models
    base = {"strategies": ["majority", "weighted_bon", "dvts"], "ns": [1, 2], "max_steps": 2, "max_tokens": 10,
            "step_tokens": 5, "temperature": 1.0, "seed": 5}
    one = _run("tts.sweep", base, {"policy": str(policy), "data": str(data), "prm": "reference:arithmetic"}, tmp_path)
    two = _run("tts.sweep", {**base, "shards": 2},
               {"policy": str(policy), "data": str(data), "prm": "reference:arithmetic"}, tmp_path)
    assert (one["shards"], two["shards"]) == (1, 2)
    for key in ("runs", "compute_optimal", "problems"):
        assert one[key] == two[key], key
    pb1 = _run("prm.processbench", {"prm": str(prm)}, {"data": str(pb)}, tmp_path)
    pb3 = _run("prm.processbench", {"prm": str(prm), "shards": 3}, {"data": str(pb)}, tmp_path)
    assert pb3["shards"] == 3 and pb1["samples"] == pb3["samples"] and pb1["average_f1"] == pb3["average_f1"]


def test_merge_eval_shards_match_one_run(models, tmp_path):
    root, policy, _, _, _ = models
    task = tmp_path / "arith.jsonl"
    task.write_text("".join(json.dumps({"prompt": f"{a}+{b}=", "answer": str(a + b)}) + "\n"
                            for a in range(10) for b in range(7)))            # 70 rows: 3 batches of 32
    one = _run("merging.eval", {"tasks": [str(task)], "max_new_tokens": 4}, {"model": str(policy)}, tmp_path)
    three = _run("merging.eval", {"tasks": [str(task)], "max_new_tokens": 4, "shards": 3}, {"model": str(policy)},
                 tmp_path)
    assert (one["shards"], three["shards"]) == (1, 3)
    assert one["stats"] == three["stats"] and one["stats"]["arith"]["n"] == 70


def test_ttrl_sharded_rollouts_and_eval_match_one_run(models, tmp_path):
    """Rollout batches (2 a step) and evaluation chunks in 2 shards: the same samples, loss and figures."""
    from backend.scale import ExecutorParams
    from backend.ttrl.trainer import NullContext, train
    from tests.backend._scale_helpers import ttrl_cfg, ttrl_files, ttrl_rollouts

    _, policy, _, _, _ = models
    prompts, labelled = ttrl_files(tmp_path)
    one, three = NullContext(), NullContext()
    cfg = dataclasses.replace(ttrl_cfg(), steps=2)      # the second step's rollouts use updated weights
    r1 = train(policy, prompts, tmp_path / "one", cfg, eval_path=labelled, ctx=one)
    r3 = train(policy, prompts, tmp_path / "three", cfg, eval_path=labelled, ctx=three,
               executor=ExecutorParams(shards=2))
    assert (r1["shards"], r3["shards"]) == (1, 2)
    assert one.metrics["eval/pass@1"] == three.metrics["eval/pass@1"] and len(one.metrics["eval/pass@1"]) == 3
    assert one.metrics["eval/maj@N"] == three.metrics["eval/maj@N"]
    assert one.metrics["loss"] == three.metrics["loss"]
    assert ttrl_rollouts(tmp_path / "one") == ttrl_rollouts(tmp_path / "three") != []


def test_ray_address_without_ray_executor_is_refused(tmp_path, capsys):
    from backend.cli import main

    data = tmp_path / "p.jsonl"
    data.write_text(json.dumps(small_problems()[0]) + "\n")
    rc = main(["--workspace", str(tmp_path / "ws"), "prm", "processbench", "--prm", str(tmp_path), "--data",
               str(data), "--ray-address", "auto"])
    assert rc == 2 and capsys.readouterr().err.strip() == "error: --ray-address auto needs --executor ray"


@pytest.mark.parametrize("method,params", [("ties", {"density": 0.5}), ("tswitch", {"drop": 0.6})])
def test_merge_study_shards_match_one_run(tiny_zoo, tmp_path, method, params):
    """The merging panel's study: base, fine-tunes and result (or T-Switch's composed models) in
    3 shards give the per-task accuracies of the one-shard run. The tiny zoo answers nothing right,
    so an extra task asks for the base's own greedy answers on every third row: the base scores
    exactly 14/40 there, whatever the shards."""
    from backend.compression.evaluate import load_examples, load_model
    from backend.generation.evaluate import evaluate_model
    from backend.merging.study import run_study
    from transformers import AutoTokenizer

    base = tiny_zoo / "arith-base"
    rows = [r for t in ("add", "sub", "mul") for r in load_examples(tiny_zoo / "data" / f"task_{t}_eval.jsonl")][:40]
    assert len(rows) == 40                                 # two evaluation batches: 32 + 8
    said = evaluate_model(load_model(base), AutoTokenizer.from_pretrained(base), rows, keep_outputs=True)["outputs"]
    echo = tmp_path / "echo.jsonl"
    echo.write_text("".join(json.dumps({**r, "answer": o["answer"] if i % 3 == 0 else "x"}) + "\n"
                            for i, (r, o) in enumerate(zip(rows, said))))
    fts = {"add": str(tiny_zoo / "arith-ft-add"), "sub": str(tiny_zoo / "arith-ft-sub")}
    runs = [run_study(str(base), fts, method, params, tmp_path / f"o{k}", limit=40, extra_evals={"echo": str(echo)},
                      executor=ExecutorParams(shards=k)) for k in (1, 3)]
    assert [r["shards"] for r in runs] == [1, 3]
    assert runs[0]["accuracy"] == runs[1]["accuracy"]
    assert list(runs[0]["accuracy"])[:3] == ["base", "ft-add", "ft-sub"] and len(runs[0]["accuracy"]) == 4
    assert runs[0]["accuracy"]["base"]["echo"] == 14 / 40
