"""The proposer loop end to end: built-in proposer, and an OpenAI-compatible endpoint served by a
real local HTTP server that reads the request (text and PNG images) and answers with terms."""
from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.equations import loop, proposers, systems
from backend.equations.model import FitSettings


@pytest.fixture(scope="module")
def pendulum():
    t, x, names = systems.simulate("pendulum", t_end=6.0)
    return t[::5], x[::5], names, systems.SYSTEMS["pendulum"].truth


def test_builtin_loop_finds_the_sine(pendulum, tmp_path):
    t, x, names, truth = pendulum
    tr = loop.discover(t, x, names, proposers.ResidualProposer(), tmp_path / "o", FitSettings(library="poly1"),
                       rounds=4, truth=truth)
    first, best = tr["rounds"][0], tr["rounds"][tr["best_round"]]
    assert not first["metrics"]["support_correct"]
    assert first["proposal"]["accepted"] == ["sin(theta)"]
    assert best["metrics"]["support_correct"] and best["metrics"]["coef_max_rel_error_true_terms"] < 0.01
    assert best["metrics"]["extrapolation_rel_l2"] < 0.01 < first["metrics"]["extrapolation_rel_l2"]
    saved = json.loads((tmp_path / "o" / "transcript.json").read_text())
    assert saved["best_round"] == tr["best_round"] and tr["stopped"] == "the proposer had nothing new to add"
    for r in saved["rounds"]:
        for img in r["images"].values():
            assert (tmp_path / "o" / img).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class _Endpoint(BaseHTTPRequestHandler):
    """Answers chat completions by reading the residual table out of the prompt text."""

    requests: list = []
    fail = False

    def log_message(self, *a):  # quiet
        pass

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if type(self).fail:
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"model is loading")
            return
        content = body["messages"][1]["content"]
        text = "\n".join(c["text"] for c in content if c["type"] == "text")
        n_png = sum(base64.b64decode(c["image_url"]["url"].split(",", 1)[1])[:4] == b"\x89PNG"
                    for c in content if c["type"] == "image_url")
        rows = re.findall(r"^  (\S+) \| d\S+ \| ([0-9.]+)$", text, flags=re.M)
        add = [rows[0][0]] if rows and float(rows[0][1]) > 0.5 else []
        reply = "I looked at %d plots.\n%s" % (n_png, json.dumps({"add": add, "remove": [], "reason": "largest gain"}))
        out = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


@pytest.fixture()
def endpoint():
    _Endpoint.requests, _Endpoint.fail = [], False
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_endpoint_loop(pendulum, tmp_path, endpoint):
    t, x, names, truth = pendulum
    prop = proposers.OpenAIProposer(endpoint, "test-model", api_key="k123")
    tr = loop.discover(t, x, names, prop, tmp_path / "o", FitSettings(library="poly1"), rounds=3, truth=truth)
    req = _Endpoint.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer k123"
    assert req["body"]["model"] == "test-model"
    assert sum(c["type"] == "image_url" for c in req["body"]["messages"][1]["content"]) == 3
    r0 = tr["rounds"][0]
    assert r0["proposal"]["raw"].startswith("I looked at 3 plots.")
    assert r0["proposal"]["accepted"] == ["sin(theta)"] and "Residual analysis" in r0["request_text"]
    assert "support_correct" not in r0["request_text"] and "coef_rel_error" not in r0["request_text"]
    best = tr["rounds"][tr["best_round"]]
    assert best["metrics"]["support_correct"]


def test_endpoint_failure_is_recorded(pendulum, tmp_path, endpoint):
    t, x, names, _ = pendulum
    _Endpoint.fail = True
    tr = loop.discover(t, x, names, proposers.OpenAIProposer(endpoint, "m"), tmp_path / "o", rounds=3)
    assert "HTTP 503" in tr["stopped"] and "model is loading" in tr["rounds"][0]["proposal_error"]
    with pytest.raises(RuntimeError, match="unreachable"):
        proposers.OpenAIProposer("http://127.0.0.1:9/v1", "m", timeout=2).propose(
            proposers.ProposalRequest(0, ["x"], [], [], [], {}, [], {}))


def test_parse_reply_and_bad_terms(pendulum, tmp_path):
    p = proposers.parse_reply('thinking {"a": 1} then {"add": ["x*y", "sin(x)"], "reason": "r"}')
    assert p.add == ["x*y", "sin(x)"] and p.reason == "r"
    assert proposers.parse_reply("ADD: x^2, y\nother").add == ["x^2", "y"]
    assert proposers.parse_reply("no idea").add == []

    class Evil:
        name = "evil"

        def propose(self, req):
            return proposers.Proposal(["__import__('os').system('true')", "q*theta", "sin(theta)"])

    t, x, names, _ = pendulum
    tr = loop.discover(t, x, names, Evil(), tmp_path / "o", rounds=2)
    prop = tr["rounds"][0]["proposal"]
    assert prop["accepted"] == ["sin(theta)"] and len(prop["rejected"]) == 2
    assert tr["rounds"][1]["custom_terms"] == ["sin(theta)"]


def test_make_proposer_validates(tmp_path):
    with pytest.raises(ValueError, match="base_url"):
        proposers.make_proposer("openai")
    with pytest.raises(ValueError, match="config.json"):
        proposers.make_proposer("hf", folder=str(tmp_path))
    with pytest.raises(ValueError, match="http"):
        proposers.make_proposer("openai", base_url="ftp://x", model="m")
    assert isinstance(proposers.make_proposer("builtin"), proposers.ResidualProposer)
