"""``python main.py serve MODEL``: an OpenAI-compatible HTTP endpoint for a model folder or ``zoo:NAME``.

Why: any OpenAI client (and our own ``--engine openai``) can then sample a Benchtop model with
the same per-row seeding as the in-process hf engine, which makes the openai engine testable
against a real server process. Stdlib only (``http.server.ThreadingHTTPServer``).

Requests are parsed on the server's threads and queued; one worker thread batches what is
queued (rows with the same sampling settings go in one ``Policy.generate`` call), so the model
is only ever used by one thread. Routes: ``GET /v1/models``, ``POST /v1/completions`` and
``POST /v1/chat/completions``. Differences from OpenAI's API (documented in docs/scale.md):
choice ``j`` of a request with ``seed`` s uses seed ``s + j``; a request without a seed gets a
random one; ``stop_reason`` names the stop string matched (as vLLM does); no streaming or
logprobs (refused with 400).
"""
from __future__ import annotations

import json
import math
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 8 << 20


class BadRequest(ValueError):
    """A request the server refuses (400, or ``status``) with an OpenAI-style error body."""

    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.param, self.status = param, status


@dataclass
class _Work:
    prompts: list[str]
    seeds: list[int]
    params: Any                       # backend.generation.policy.SamplingParams
    count: list[str] = field(default_factory=list)   # prompts whose tokens the answer's usage counts
    done: threading.Event = field(default_factory=threading.Event)
    result: list | None = None
    prompt_tokens: int = 0
    error: BaseException | None = None


class BatchWorker:
    """Owns the policy: takes queued work, batches rows that share sampling settings, runs them."""

    def __init__(self, policy: Any, max_batch: int = 64, window: float = 0.005) -> None:
        self.policy, self.max_batch, self.window = policy, max_batch, window
        self.q: queue.Queue[_Work | None] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="serve-worker", daemon=True)
        self.thread.start()

    def submit(self, prompts: list[str], seeds: list[int], params: Any, count: list[str] | None = None,
               timeout: float | None = None) -> tuple[list, int]:
        """The completions of the rows and the prompt tokens of ``count`` (the tokenizer is used on
        the worker thread only: a fast tokenizer shared between threads can fail)."""
        work = _Work(prompts, seeds, params, list(count or []))
        self.q.put(work)
        if not work.done.wait(timeout):
            raise TimeoutError("generation timed out")
        if work.error is not None:
            raise work.error
        return work.result or [], work.prompt_tokens

    def stop(self) -> None:
        self.q.put(None)
        self.thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            first = self.q.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self.window
            while sum(len(w.prompts) for w in batch) < self.max_batch:
                try:
                    nxt = self.q.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if nxt is None:
                    self.q.put(None)          # stop after this batch
                    break
                batch.append(nxt)
            self._run(batch)

    def _run(self, batch: list[_Work]) -> None:
        groups: dict[tuple, list[_Work]] = {}
        for w in batch:
            p = w.params
            groups.setdefault((p.temperature, p.top_p, p.max_new_tokens, p.stop), []).append(w)
        for works in groups.values():
            prompts = [p for w in works for p in w.prompts]
            seeds = [s for w in works for s in w.seeds]
            try:
                outs = self.policy.generate(prompts, seeds, works[0].params, batch_size=self.max_batch)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting request, never kills the worker
                for w in works:
                    w.error = exc
                    w.done.set()
                continue
            k = 0
            for w in works:
                w.result, k = outs[k:k + len(w.prompts)], k + len(w.prompts)
                w.prompt_tokens = sum(len(self.policy.encode(p)) for p in w.count)
                w.done.set()


# -- request parsing -------------------------------------------------------------------------------
def _number(body: dict, name: str, default: float, lo: float, hi: float, integer: bool = False) -> Any:
    v = body.get(name, default)
    if v is None:
        v = default
    ok = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok or (isinstance(v, float) and not math.isfinite(v)):
        raise BadRequest(f"'{name}' must be {'an integer' if integer else 'a number'}, got {v!r}", name)
    if not lo <= v <= hi:
        raise BadRequest(f"'{name}'={v!r} must be between {lo:g} and {hi:g}", name)
    return v


def _stops(body: dict) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise BadRequest("'stop' must be a string or a list of strings", "stop")
    return tuple(s for s in stop if s)


def _sampling(body: dict) -> tuple[Any, int, int]:
    """(SamplingParams, n, first seed) of a request body."""
    from backend.generation.policy import SamplingParams

    unsupported = {"stream": body.get("stream"), "logprobs": body.get("logprobs") not in (None, False, 0),
                   "echo": body.get("echo"), "best_of": body.get("best_of") not in (None, 1)}
    for name, used in unsupported.items():
        if used:
            raise BadRequest(f"'{name}' is not supported by this server", name)
    n = _number(body, "n", 1, 1, 256, integer=True)
    seed = body.get("seed")
    if seed is None:
        seed = int.from_bytes(os.urandom(7), "little")
    seed = _number({"seed": seed}, "seed", 0, -(1 << 63), (1 << 63) - 1, integer=True)
    params = SamplingParams(temperature=float(_number(body, "temperature", 1.0, 0.0, 100.0)),
                            top_p=float(_number(body, "top_p", 1.0, 0.0, 1.0)),
                            max_new_tokens=_number(body, "max_tokens", 16, 0, 1 << 20, integer=True),
                            stop=_stops(body))
    if params.top_p <= 0:
        raise BadRequest("'top_p' must be above 0", "top_p")
    return params, n, seed


def _choice_text(c: Any, stops: tuple[str, ...]) -> tuple[str, str, str | None]:
    """(text without the matched stop string, OpenAI finish_reason, matched stop string or None)."""
    if c.finish == "length":
        return c.text, "length", None
    if c.finish == "stop":
        hit = [s for s in stops if c.text.endswith(s)]
        if hit:
            s = max(hit, key=len)
            return c.text[:-len(s)], "stop", s
    return c.text, "stop", None


class Service:
    """The model behind the routes: the policy, its served name and the batching worker."""

    def __init__(self, policy: Any, name: str, max_batch: int = 64) -> None:
        self.policy, self.name = policy, name
        self.worker = BatchWorker(policy, max_batch)
        self.created = int(time.time())

    def models(self) -> dict:
        return {"object": "list", "data": [{"id": self.name, "object": "model", "created": self.created,
                                            "owned_by": "benchtop"}]}

    def _check_model(self, body: dict) -> None:
        model = body.get("model")
        if model not in (None, "", self.name):
            raise BadRequest(f"model {model!r} is not served here (this server serves {self.name!r})", "model", 404)

    def _generate(self, prompts: list[str], body: dict) -> tuple[list, list[int], tuple[str, ...], int]:
        params, n, seed = _sampling(body)
        rows = [p for p in prompts for _ in range(n)]
        seeds = [seed + j for _ in prompts for j in range(n)]
        outs, prompt_tokens = self.worker.submit(rows, seeds, params, count=prompts)
        return outs, seeds, params.stop, prompt_tokens

    @staticmethod
    def _usage(prompt_tokens: int, outs: list) -> dict:
        done = sum(c.tokens for c in outs)
        return {"prompt_tokens": prompt_tokens, "completion_tokens": done, "total_tokens": prompt_tokens + done}

    def completions(self, body: dict) -> dict:
        self._check_model(body)
        prompt = body.get("prompt")
        prompts = [prompt] if isinstance(prompt, str) else prompt
        if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
            raise BadRequest("'prompt' must be a string or a non-empty list of strings", "prompt")
        outs, _, stops, ptok = self._generate(prompts, body)
        choices = []
        for i, c in enumerate(outs):
            text, reason, matched = _choice_text(c, stops)
            choices.append({"index": i, "text": text, "finish_reason": reason, "stop_reason": matched,
                            "logprobs": None})
        return {"id": "cmpl-" + uuid.uuid4().hex, "object": "text_completion", "created": int(time.time()),
                "model": self.name, "choices": choices, "usage": self._usage(ptok, outs)}

    def chat(self, body: dict) -> dict:
        from backend.generation.prompting import has_chat_template

        self._check_model(body)
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs or not all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                for m in msgs):
            raise BadRequest("'messages' must be a non-empty list of {role, content} objects with text content",
                             "messages")
        tok = self.policy.tokenizer
        if not has_chat_template(tok):
            raise BadRequest(f"model {self.name!r} has no chat template; use /v1/completions", "messages")
        try:
            prompt = tok.apply_chat_template([{"role": m["role"], "content": m["content"]} for m in msgs],
                                             tokenize=False, add_generation_prompt=True)
        except Exception as exc:  # noqa: BLE001 - a template that rejects the conversation (roles, order)
            raise BadRequest(f"the chat template refused these messages: {exc}", "messages") from None
        outs, _, stops, ptok = self._generate([prompt], body)
        choices = []
        for i, c in enumerate(outs):
            text, reason, matched = _choice_text(c, stops)
            choices.append({"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": reason,
                            "stop_reason": matched, "logprobs": None})
        return {"id": "chatcmpl-" + uuid.uuid4().hex, "object": "chat.completion", "created": int(time.time()),
                "model": self.name, "choices": choices, "usage": self._usage(ptok, outs)}


def error_body(message: str, status: int, param: str | None = None) -> dict:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": status}}


def make_handler(service: Service) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "benchtop-serve"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass                                                # quiet: the CLI prints one line

        def _send(self, status: int, obj: dict) -> None:
            data = json.dumps(obj).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _path(self) -> str:
            return self.path.split("?", 1)[0].rstrip("/")

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self._path() in ("/v1/models", "/models"):
                self._send(200, service.models())
            else:
                self._send(404, error_body(f"no route GET {self.path}", 404))

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            routes = {"/v1/completions": service.completions, "/completions": service.completions,
                      "/v1/chat/completions": service.chat, "/chat/completions": service.chat}
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self.close_connection = True
                    raise BadRequest(f"request body over {MAX_BODY} bytes", None, 413)
                raw = self.rfile.read(length) if length > 0 else b""
                route = routes.get(self._path())
                if route is None:
                    raise BadRequest(f"no route POST {self.path}", None, 404)
                try:
                    body = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    raise BadRequest("the request body is not valid JSON") from None
                if not isinstance(body, dict):
                    raise BadRequest("the request body must be a JSON object")
                self._send(200, route(body))
            except BadRequest as exc:
                self._send(exc.status, error_body(str(exc), exc.status, exc.param))
            except Exception as exc:  # noqa: BLE001 - one bad request never takes the server down
                self._send(500, error_body(f"{type(exc).__name__}: {exc}", 500))

    return Handler


def make_server(policy: Any, name: str, host: str = "127.0.0.1", port: int = 0,
                max_batch: int = 64) -> tuple[ThreadingHTTPServer, Service]:
    """A bound (not yet serving) HTTP server for ``policy``; ``server.server_address`` has the port."""
    service = Service(policy, name, max_batch)
    httpd = ThreadingHTTPServer((host, port), make_handler(service))
    httpd.daemon_threads = True
    return httpd, service
