"""The openai engine against a real ``python main.py serve`` process serving the tiny zoo's policy.

Same weights and seeds on both sides, so a ``tts run --engine openai`` must give exactly the
answers, accuracy, token counts and search trees of ``--engine hf``. Also: ``/v1/models``, 400s
for bad requests, one clear error for a dead URL, cancel between requests, the key never recorded.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POLICY = "zoo:arith-policy"
SMALL = ["--max-steps", "3", "--max-tokens", "24", "--step-tokens", "10", "--temperature", "0.8", "--seed", "3"]


@contextlib.contextmanager
def serving(ws: Path, model: str):
    """``python main.py --workspace WS serve MODEL --port 0`` as a real process; yields its base URL."""
    env = {k: v for k, v in os.environ.items() if k != "BENCHTOP_ZOO"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--workspace", str(ws), "serve", model,
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env=env)
    try:
        line = proc.stdout.readline()            # blocks until the server prints its address (or dies)
        m = re.match(r"serving (\S+) on (http://127\.0\.0\.1:\d+/v1)$", line.strip())
        assert m, f"no address line: {line!r}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
        yield m.group(2)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0, "the server did not shut down cleanly on SIGTERM"


@pytest.fixture(scope="module")
def served(tiny_zoo, tmp_path_factory):
    """(workspace, base_url): the tiny zoo as the workspace's zoo, its policy served on a free port."""
    ws = tmp_path_factory.mktemp("engines") / "ws"
    (ws / "zoo").mkdir(parents=True)
    (ws / "zoo" / "demo").symlink_to(tiny_zoo, target_is_directory=True)
    with serving(ws, POLICY) as url:
        yield ws, url


def post(url: str, body: bytes) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def cli(ws: Path, *args: str) -> tuple[int, str, str]:
    """The real CLI entry point, in this process (saves a torch import per call)."""
    from backend.cli.parser import main

    out, err = sys.stdout, sys.stderr
    import io

    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
    try:
        rc = main(["--workspace", str(ws), *args])
        return rc, sys.stdout.getvalue(), sys.stderr.getvalue()
    finally:
        sys.stdout, sys.stderr = out, err


def test_models_and_bad_requests_get_400_json(served):
    ws, base = served
    with urllib.request.urlopen(base + "/models", timeout=30) as r:
        assert [m["id"] for m in json.loads(r.read())["data"]] == [POLICY]
    for body, param in [(b"{not json", None), (b"[1, 2]", None), (b'{"prompt": 3}', "prompt"),
                        (b'{"prompt": "x", "temperature": "hot"}', "temperature"),
                        (b'{"prompt": "x", "max_tokens": -1}', "max_tokens"),
                        (b'{"prompt": "x", "stop": [1]}', "stop"), (b'{"prompt": "x", "stream": true}', "stream"),
                        (b'{"messages": "hi"}', "messages")]:
        url = base + ("/chat/completions" if b"messages" in body else "/completions")
        status, obj = post(url, body)
        assert status == 400 and obj["error"]["type"] == "invalid_request_error", (body, obj)
        assert obj["error"]["param"] == param and obj["error"]["message"]
    status, obj = post(base + "/completions", b'{"prompt": "x", "model": "other"}')
    assert status == 404 and "not served" in obj["error"]["message"]
    # the server survived all of that and still answers, stop string stripped and reported
    status, obj = post(base + "/completions", json.dumps({"prompt": "Problem: 3+4\n", "max_tokens": 20, "seed": 1,
                                                          "temperature": 0, "stop": ["\n"]}).encode())
    c = obj["choices"][0]
    assert status == 200 and obj["usage"]["completion_tokens"] >= len(c["text"])
    assert (c["finish_reason"], c["stop_reason"]) in (("stop", "\n"), ("stop", None), ("length", None))
    assert "\n" not in c["text"]


def test_tts_run_openai_matches_hf_exactly(served, tiny_zoo):
    ws, base = served
    data = tiny_zoo / "data" / "problems_eval.jsonl"
    results = {}
    # openai-sharded: three shards, each building its engine from the settings carried in the work
    for name in ("hf", "openai", "openai-sharded"):
        engine = name.split("-")[0]
        out = ws.parent / f"run_{name}"
        extra = ["--base-url", base, "--api-key", "sk-SECRET-123"] if engine == "openai" else []
        extra += ["--shards", "3"] if name.endswith("sharded") else []
        rc, stdout, err = cli(ws, "tts", "run", "--policy", POLICY, "--prm", "reference:arithmetic", "--data",
                              str(data), "--limit", "3", "--strategy", "beam", "--n", "2", "--out", str(out),
                              *SMALL, "--engine", engine, *extra, "--json")
        assert rc == 0, err
        results[name] = (json.loads(stdout)["result"], (out / "details.jsonl").read_text())
    (hf, hf_details), (oa, oa_details) = results["hf"], results["openai"]
    sharded, sharded_details = results["openai-sharded"]
    assert sharded["shards"] == 3 and sharded_details == hf_details and sharded["answers"] == hf["answers"]
    assert sharded["timing"]["engine"] == "openai"
    assert oa["answers"] == hf["answers"] and oa["correct"] == hf["correct"]
    assert oa["accuracy"] == hf["accuracy"] and oa["tokens"] == hf["tokens"]
    assert oa["timing"]["generation"]["generated_tokens"] == hf["timing"]["generation"]["generated_tokens"]
    assert oa["timing"]["generation"]["prompt_tokens"] == hf["timing"]["generation"]["prompt_tokens"]
    assert oa_details == hf_details                       # every step, score and tree node
    assert oa["timing"]["engine"] == "openai" and hf["timing"]["engine"] == "hf"
    for f in ws.rglob("*"):                                # the key is nowhere in the workspace
        if f.is_file():
            assert b"sk-SECRET-123" not in f.read_bytes(), f


def test_engine_cancels_between_requests(served):
    from backend.generation.engines import EngineParams, load_engine
    from backend.generation.policy import SamplingParams
    from backend.models.zoo.store import job_workspace

    ws, base = served
    with job_workspace(ws):
        engine = load_engine(EngineParams(engine="openai", base_url=base, max_concurrency=1), POLICY)
    assert engine.model == POLICY                          # taken from /v1/models

    calls = []

    class Stop(Exception):
        pass

    def should_stop() -> None:
        calls.append(1)
        if len(calls) > 2:
            raise Stop

    sp = SamplingParams(temperature=0.7, max_new_tokens=4)
    with pytest.raises(Stop):
        engine.generate(["Problem: 1+2\n"] * 6, list(range(6)), sp, should_stop=should_stop)
    assert engine.stats.extra["requests"] == 0 and len(calls) == 3


def test_dead_url_is_one_clear_error(served, tiny_zoo):
    ws, _ = served
    with socket.socket() as s:                             # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    t0 = time.perf_counter()
    rc, _, err = cli(ws, "tts", "run", "--policy", POLICY, "--data", str(tiny_zoo / "data" / "problems_eval.jsonl"),
                     "--limit", "1", "--strategy", "greedy", "--out", str(ws.parent / "dead"), "--engine", "openai",
                     "--base-url", url)
    assert rc == 1 and time.perf_counter() - t0 < 30
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and f"{url}/models" in lines[0] and "cannot reach" in lines[0], err


def test_genprm_critiques_from_a_server_match_local_sampling(served):
    """ProcessBench with a generative PRM whose critiques come from a served copy: the judgement
    texts are those of the same verifier sampled in this process with the same per-row seeds."""
    from backend.generation.policy import Policy
    from backend.models.zoo.store import job_workspace
    from backend.prm import load_prm

    ws, _ = served
    with serving(ws, "zoo:arith-genprm") as url:
        rc, stdout, err = cli(ws, "prm", "processbench", "--prm", "zoo:arith-genprm", "--data", "zoo:processbench",
                              "--limit", "1", "--engine", "openai", "--base-url", url, "--json")
    assert rc == 0, err
    res = json.loads(stdout)["result"]
    remote = [json.loads(line) for line in Path(res["samples_file"]).read_text().splitlines()]
    with job_workspace(ws):
        prm = load_prm("zoo:arith-genprm", "cpu")
        prm.engine = Policy.load("zoo:arith-genprm", "cpu")       # the hf Policy is an engine too
    local = prm.judge_batch([(remote[0]["problem"], remote[0]["steps"])])[0]
    got = [[s["text"] for s in step["samples"]] for step in remote[0]["judgements"]]
    assert got == [[s.text for s in step.samples] for step in local]
    assert remote[0]["scores"] == [step.score for step in local]


def test_chat_route_applies_the_template_and_seeds_choices(tiny_zoo):
    """``/v1/chat/completions`` on an in-process server: the reply is what ``Policy.generate`` gives
    for the chat-templated prompt with seed s + j for choice j."""
    import threading

    from backend.generation.policy import Policy, SamplingParams
    from backend.generation.serve import make_server

    policy = Policy.load(tiny_zoo / "arith-policy", "cpu")
    policy.tokenizer.chat_template = "{% for m in messages %}Problem: {{ m['content'] }}\n{% endfor %}"
    httpd, service = make_server(policy, "tiny", port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_port}/v1/chat/completions"
        body = {"model": "tiny", "messages": [{"role": "user", "content": "(4+5)*2"}], "n": 2, "seed": 11,
                "temperature": 0.9, "max_tokens": 12}
        status, obj = post(url, json.dumps(body).encode())
        assert status == 200 and obj["object"] == "chat.completion"
        want = policy.generate(["Problem: (4+5)*2\n"] * 2, [11, 12], SamplingParams(0.9, 1.0, 12))
        assert [c["message"]["content"] for c in obj["choices"]] == [w.text for w in want]
        assert obj["usage"]["completion_tokens"] == sum(w.tokens for w in want)
        status, obj = post(url, json.dumps({**body, "messages": [{"role": "user"}]}).encode())
        assert status == 400 and obj["error"]["param"] == "messages"
    finally:
        httpd.shutdown()
        httpd.server_close()
        service.worker.stop()
