"""A small JSON-over-HTTP client for OpenAI-compatible servers (stdlib only: no new dependency).

Why its own module: retries, timeouts and the one-line errors that name the URL are the same
for every request the openai engine makes, and tests exercise them against a dead port.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any


class EngineError(RuntimeError):
    """A server that cannot be reached or that refused a request (the message names the URL)."""


def _url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def request_json(base_url: str, path: str, body: dict | None = None, *, api_key: str = "", timeout: float = 300.0,
                 retries: int = 3, backoff: float = 0.5) -> dict[str, Any]:
    """GET (``body`` None) or POST ``body`` as JSON to ``base_url + path``; the decoded JSON answer.

    Connection errors, timeouts and 5xx/429 answers are retried ``retries`` times with growing
    waits; a 4xx answer is not (the request itself is wrong) and its server message is kept.
    """
    url = _url(base_url, path)
    data = None if body is None else json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    last = ""
    for attempt in range(retries + 1):
        req = urllib.request.Request(url, data=data, headers=headers, method="GET" if body is None else "POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
            try:
                return json.loads(raw.decode("utf-8"))
            except ValueError:
                raise EngineError(f"{url}: the server's answer is not JSON ({raw[:80]!r})") from None
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            if exc.code < 500 and exc.code != 429:
                raise EngineError(f"{url}: HTTP {exc.code}: {detail}") from None
            last = f"HTTP {exc.code}: {detail}"
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            last = f"{type(reason).__name__}: {reason}" if not isinstance(reason, str) else reason
        if attempt < retries:
            time.sleep(backoff * (2 ** attempt))
    raise EngineError(f"cannot reach the OpenAI-compatible server at {url} after {retries + 1} tries ({last})")


def _error_detail(exc: urllib.error.HTTPError) -> str:
    """The server's own error message (OpenAI shape ``{"error": {"message": ...}}``) or the body."""
    try:
        raw = exc.read().decode("utf-8", "replace")
    except OSError:
        return str(exc.reason)
    try:
        obj = json.loads(raw)
        err = obj.get("error", obj) if isinstance(obj, dict) else obj
        msg = err.get("message") if isinstance(err, dict) else None
        return str(msg or err)[:300]
    except ValueError:
        return raw[:300] or str(exc.reason)
