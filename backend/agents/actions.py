"""Actions from pyautogui code strings, OSWorld ``computer_13`` dicts and text primitives.

Code is parsed with :mod:`ast` and never executed: a run folder comes from somewhere else and
its code was written by a model. Only literal arguments are read (``ast.literal_eval`` on single
nodes); a ``tag_N`` name is kept as an unresolved Set-of-Mark target, any other expression as
``unresolved`` with its source text.

Parsing is linear in the code's length: each call's source text is cut from per-line byte
offsets computed once (``ast.get_source_segment`` re-splits the whole code for every call, so a
20 MB one-line action with many calls took minutes), and "inside a loop" is a binary search
over merged loop line ranges rather than a scan of every loop per call.
"""
from __future__ import annotations

import ast
import bisect
import json
import re
from typing import Any, TypeGuard

from backend.agents.model import Action

_PRIMITIVE = re.compile(r"^\s*(DONE|FAIL|WAIT|TIMEOUT|CODE|ANS)\b(.*)$", re.S)
_TAG = re.compile(r"^tag_\d+$")

# pyautogui function -> (action kind, mouse button)
_POINTER = {
    "click": ("click", "left"), "leftClick": ("click", "left"), "rightClick": ("right_click", "right"),
    "middleClick": ("middle_click", "middle"), "doubleClick": ("double_click", "left"),
    "tripleClick": ("triple_click", "left"), "moveTo": ("move", None), "dragTo": ("drag", "left"),
    "mouseDown": ("mouse_down", "left"), "mouseUp": ("mouse_up", "left"),
}
_RELATIVE_MOVES = {"moveRel": "move", "move": "move", "dragRel": "drag", "drag": "drag"}
_KEYS = {"press": "key", "hotkey": "hotkey", "keyDown": "key_down", "keyUp": "key_up"}
_TYPE = {"typewrite", "write"}
_SCROLL = {"scroll": "scroll", "vscroll": "scroll", "hscroll": "hscroll"}

_C13 = {
    "MOVE_TO": "move", "CLICK": "click", "MOUSE_DOWN": "mouse_down", "MOUSE_UP": "mouse_up",
    "RIGHT_CLICK": "right_click", "DOUBLE_CLICK": "double_click", "DRAG_TO": "drag", "SCROLL": "scroll",
    "TYPING": "type", "PRESS": "key", "KEY_DOWN": "key_down", "KEY_UP": "key_up", "HOTKEY": "hotkey",
    "WAIT": "wait", "FAIL": "fail", "DONE": "done",
}


def parse_action(raw: Any, pointer: tuple[float, float] | None = None) -> list[Action]:
    """Structured actions of one logged action: a code string, a primitive or a dict.

    ``pointer`` is where the mouse was before (for drags that start "from here").
    """
    if isinstance(raw, dict):
        return [parse_computer13(raw)]
    if raw is None:
        return [Action("unknown", source="null", note="empty action")]
    if not isinstance(raw, str):
        return [Action("unknown", source=json.dumps(raw, default=str), note=f"a {type(raw).__name__}, not code")]
    prim = parse_primitive(raw)
    if prim is not None:
        return [prim]
    return parse_pyautogui(raw, pointer)


def parse_primitive(text: str) -> Action | None:
    """``DONE``, ``FAIL``, ``WAIT [n]``, ``ANS text``, ``TIMEOUT``, ``CODE`` (else None)."""
    m = _PRIMITIVE.match(text)
    if not m:
        return None
    word, rest = m.group(1), m.group(2).strip()
    if word in ("DONE", "FAIL", "TIMEOUT", "CODE") and rest:
        return None  # e.g. "DONE = 1" is code, not the primitive
    if word == "ANS":
        return Action("answer", text=rest, source=text.strip())
    if word == "WAIT":
        try:
            secs = float(rest) if rest else 5.0
        except ValueError:
            return None
        return Action("wait", amount=secs, source=text.strip())
    return Action(word.lower(), source=text.strip())


def parse_pyautogui(code: str, pointer: tuple[float, float] | None = None) -> list[Action]:
    """Every pyautogui / time.sleep call of ``code`` in source order, as actions.

    Code that does not parse becomes one ``code`` action whose note gives the line of the
    syntax error; statements with no GUI call are ignored (they do not act on the screen).
    """
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return [Action("code", source=code, note=f"syntax error at line {exc.lineno}: {exc.msg}")]
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        return [Action("code", source=code[:2000], note=f"not parseable ({type(exc).__name__})")]
    segment = _Segments(code)
    aliases = {"pyautogui"}
    direct: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update(a.asname or a.name for a in node.names if a.name == "pyautogui")
        elif isinstance(node, ast.ImportFrom) and node.module == "pyautogui":
            direct.update({(a.asname or a.name): a.name for a in node.names})
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    calls.sort(key=lambda n: (n.lineno, n.col_offset))
    loops = _LoopLines([n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While))])
    out: list[Action] = []
    for call in calls:
        name = _func_name(call.func, aliases, direct)
        if name is None:
            continue
        act = _from_call(name, call, segment, pointer)
        if act is None:
            continue
        if loops.inside(call.lineno):
            act.note = (act.note + "; " if act.note else "") + "inside a loop"
        if act.coords in ("absolute", "relative") and act.x is not None and act.y is not None:
            pointer = (act.x, act.y)
        out.append(act)
    if not out and code.strip():
        out.append(Action("code", source=code, note="no GUI call"))
    return out


class _Segments:
    """Source text of nodes, from line offsets computed once (lines are encoded on first use:
    AST column offsets count UTF-8 bytes)."""

    def __init__(self, code: str) -> None:
        self.lines = code.splitlines(keepends=True)
        self._encoded: dict[int, bytes] = {}

    def _line(self, i: int) -> bytes:
        b = self._encoded.get(i)
        if b is None:
            b = self._encoded[i] = self.lines[i].encode("utf-8")
        return b

    def __call__(self, node: ast.AST) -> str | None:
        try:
            l0, l1 = node.lineno - 1, node.end_lineno - 1  # type: ignore[attr-defined, operator]
            c0, c1 = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        except (AttributeError, TypeError):
            return None
        if c1 is None or not 0 <= l0 <= l1 < len(self.lines):
            return None
        if l0 == l1:
            return self._line(l0)[c0:c1].decode("utf-8", "replace")
        parts = [self._line(l0)[c0:].decode("utf-8", "replace"), *self.lines[l0 + 1:l1],
                 self._line(l1)[:c1].decode("utf-8", "replace")]
        return "".join(parts)


class _LoopLines:
    """Which lines lie inside a ``for``/``while`` body (after its header line), by binary search."""

    def __init__(self, loops: list[ast.stmt]) -> None:
        spans = sorted((n.lineno + 1, getattr(n, "end_lineno", n.lineno) or n.lineno) for n in loops)
        merged: list[list[int]] = []
        for a, b in spans:
            if a > b:
                continue
            if merged and a <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self.starts = [m[0] for m in merged]
        self.ends = [m[1] for m in merged]

    def inside(self, line: int) -> bool:
        i = bisect.bisect_right(self.starts, line) - 1
        return i >= 0 and line <= self.ends[i]


def _func_name(func: ast.expr, aliases: set[str], direct: dict[str, str]) -> str | None:
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        if func.value.id in aliases:
            return func.attr
        if func.value.id == "time" and func.attr == "sleep":
            return "sleep"
    if isinstance(func, ast.Name) and func.id in direct:
        return direct[func.id]
    return None


def _literal(node: ast.expr | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _Unresolved(ast.unparse(node))


class _Unresolved(str):
    """An argument that is not a literal (a variable or an expression), kept as its text."""


def _args(call: ast.Call, names: tuple[str, ...]) -> dict[str, Any]:
    """Positional and keyword arguments by name (a starred ``*tag_3`` fills x as a tag)."""
    got: dict[str, Any] = {}
    pos = list(call.args)
    if pos and isinstance(pos[0], ast.Starred):
        got[names[0]] = _Unresolved(ast.unparse(pos[0].value))
        got["_starred"] = True
        pos = pos[1:]
        names = names[2:]
    for name, node in zip(names, pos):
        got[name] = _literal(node)
    for kw in call.keywords:
        if kw.arg:
            got[kw.arg] = _literal(kw.value)
    return got


def _point(act: Action, x: Any, y: Any) -> None:
    """Fill the point of ``act`` from literal or symbolic x/y (a tuple x carries both)."""
    if isinstance(x, (tuple, list)) and len(x) == 2 and y is None:
        x, y = x
    if isinstance(x, _Unresolved):
        act.target = str(x) if y is None else f"{x}, {y}"
        act.coords = "tag" if _TAG.match(str(x)) else "unresolved"
        return
    if _is_num(x) and _is_num(y):
        act.x, act.y = float(x), float(y)
        rel = 0 <= x <= 1 and 0 <= y <= 1 and (isinstance(x, float) or isinstance(y, float))
        act.coords = "relative" if rel else "absolute"
    elif x is not None or y is not None:
        act.coords = "unresolved"
        act.target = f"{x}, {y}"


def _is_num(v: Any) -> TypeGuard[int | float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _from_call(name: str, call: ast.Call, segment: _Segments, pointer: tuple[float, float] | None) -> Action | None:
    src = segment(call) or ast.unparse(call)
    if name in _POINTER:
        kind, button = _POINTER[name]
        a = _args(call, ("x", "y", "clicks", "interval", "button") if kind == "click" else ("x", "y"))
        act = Action(kind, button=str(a.get("button", button)) if button else None, source=src)
        _point(act, a.get("x"), a.get("y"))
        if kind == "click" and _is_num(a.get("clicks")) and a["clicks"] > 1:
            act.kind = {2: "double_click", 3: "triple_click"}.get(int(a["clicks"]), "click")
        if kind == "click" and act.button == "right":
            act.kind = "right_click"
        if kind == "drag" and pointer:
            act.x0, act.y0 = pointer
        return act
    if name in _RELATIVE_MOVES:
        a = _args(call, ("xOffset", "yOffset"))
        dx, dy = a.get("xOffset", a.get("x")), a.get("yOffset", a.get("y"))
        act = Action(_RELATIVE_MOVES[name], source=src, note="relative to the pointer")
        if pointer and _is_num(dx) and _is_num(dy):
            act.x0, act.y0 = pointer
            act.x, act.y, act.coords = pointer[0] + dx, pointer[1] + dy, "absolute"
        return act
    if name in _SCROLL:
        a = _args(call, ("clicks", "x", "y"))
        amt = a.get("clicks")
        act = Action(_SCROLL[name], amount=float(amt) if _is_num(amt) else None, source=src)
        _point(act, a.get("x"), a.get("y"))
        if act.x is None and pointer and act.coords == "none":
            act.x, act.y, act.coords = pointer[0], pointer[1], "absolute"
            act.note = "at the pointer"
        return act
    if name in _TYPE:
        a = _args(call, ("message", "interval"))
        msg = a.get("message")
        if isinstance(msg, list):  # typewrite(['a', 'enter']) presses keys
            return Action("key", keys=[str(k) for k in msg], source=src)
        return Action("type", text=str(msg) if msg is not None else None, source=src,
                      note="expression" if isinstance(msg, _Unresolved) else "")
    if name in _KEYS:
        keys = [_literal(n) for n in call.args]
        flat: list[str] = []
        for k in keys:
            flat.extend(str(x) for x in k) if isinstance(k, (list, tuple)) else flat.append(str(k))
        return Action(_KEYS[name], keys=flat, source=src)
    if name == "sleep":
        secs = _literal(call.args[0]) if call.args else None
        return Action("wait", amount=float(secs) if _is_num(secs) else None, source=src)
    if name in ("screenshot", "locateCenterOnScreen", "locateOnScreen"):
        return Action("code", source=src, note=f"{name} (not an action)")
    if name in ("position", "size", "onScreen", "PAUSE", "FAILSAFE"):
        return None
    return Action("unknown", source=src, note=f"pyautogui.{name}")


def parse_computer13(d: dict[str, Any]) -> Action:
    """An OSWorld ``computer_13`` dict (``action_type`` + ``parameters``) as an action."""
    src = json.dumps(d, default=str)
    atype = str(d.get("action_type", "")).upper()
    params = d.get("parameters") or {}
    if not isinstance(params, dict):
        params = {}
    kind = _C13.get(atype)
    if kind is None:
        return Action("unknown", source=src, note=f"action_type {atype or '(missing)'}")
    act = Action(kind, source=src)
    if kind in ("click", "move", "mouse_down", "mouse_up", "right_click", "double_click", "drag"):
        _point(act, params.get("x"), params.get("y"))
        if act.coords == "relative":  # computer_13 is specified in pixels: 0/1 are pixels there
            act.coords = "absolute"
        act.button = params.get("button") or ("left" if kind != "move" else None)
        if kind == "click" and params.get("num_clicks") in (2, 3):
            act.kind = {2: "double_click", 3: "triple_click"}[params["num_clicks"]]
    elif kind == "scroll":
        dx, dy = params.get("dx", 0), params.get("dy", 0)
        act.kind = "hscroll" if dx and not dy else "scroll"
        amt = dy if dy else dx
        act.amount = float(amt) if _is_num(amt) else None
    elif kind == "type":
        act.text = str(params.get("text", ""))
    elif kind in ("key", "key_down", "key_up"):
        act.keys = [str(params.get("key", ""))]
    elif kind == "hotkey":
        act.keys = [str(k) for k in params.get("keys", [])]
    elif kind == "wait":
        act.amount = float(params["time"]) if _is_num(params.get("time")) else None
    return act
