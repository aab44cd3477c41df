"""Offline sample texts for the lab (nothing is downloaded; both ship with every CPython).

- ``pydoc``: the 79 topics of ``pydoc_data.topics`` (about 465 KB of English technical prose).
  The lab's defaults were chosen on this text.
- ``stdlib``: the docstrings of a fixed list of pure-Python standard-library modules, read with
  ``ast`` (no import). A different text the bench was not tuned on.
"""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

STDLIB_MODULES = (
    "argparse", "ast", "asyncio.base_events", "asyncio.tasks", "calendar", "cmd", "collections", "configparser",
    "contextlib", "copy", "csv", "dataclasses", "difflib", "email.message", "email.utils", "enum", "fnmatch",
    "fractions", "ftplib", "functools", "getopt", "gettext", "glob", "gzip", "heapq", "http.client",
    "http.cookiejar", "imaplib", "inspect", "ipaddress", "json.decoder", "json.encoder", "locale", "logging",
    "logging.handlers", "mailbox", "netrc", "nntplib", "optparse", "os", "pathlib", "pickle", "pkgutil",
    "platform", "poplib", "pprint", "pydoc", "queue", "random", "shlex", "shutil", "smtplib", "socket",
    "socketserver", "statistics", "string", "subprocess", "tarfile", "tempfile", "textwrap", "threading",
    "tokenize", "trace", "traceback", "typing", "unittest.case", "unittest.mock", "urllib.parse",
    "urllib.request", "uuid", "warnings", "weakref", "xml.dom.minidom", "zipfile", "_pydecimal", "_pydatetime",
)
NAMES = ("pydoc", "stdlib")


def pydoc_topics() -> str:
    from pydoc_data import topics

    return "\n\n".join(topics.topics[k] for k in sorted(topics.topics))


def stdlib_docstrings() -> str:
    parts = []
    for name in STDLIB_MODULES:
        spec = importlib.util.find_spec(name) if importlib.util.find_spec(name.split(".")[0]) else None
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) > 80:
                    parts.append(doc.strip())
    return "\n\n".join(parts)


def sample_text(name: str) -> str:
    if name == "pydoc":
        return pydoc_topics()
    if name == "stdlib":
        return stdlib_docstrings()
    raise ValueError(f"unknown sample text {name!r}: choose one of {', '.join(NAMES)}")
