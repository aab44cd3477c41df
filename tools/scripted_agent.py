"""A scripted computer-using agent that drives the real mini apps offscreen.

Each step it grabs the window (the "screen"), linearises Qt's widget tree into the a11y TSV the
benchmarks use, looks up its next target by name in that tree, writes pyautogui code (absolute,
relative 0-1 or Set-of-Mark ``tag_N``), and the executor parses that code with
``backend.agents.actions`` and performs it with real Qt mouse/keyboard events. A seeded
"grounding noise" shifts some clicks, so the noisy agent really misses buttons.
"""
from __future__ import annotations

import random

from PySide6.QtCore import QBuffer, QEvent, QIODevice, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QLineEdit, QPlainTextEdit, QWidget

from backend.agents.actions import parse_action
from backend.agents.model import Action
from backend.agents.writers import RecordedAction, RecordedStep

A11Y_HEADER = "tag\tname\ttext\tclass\tdescription\tposition (top-left x&y)\tsize (w&h)"
_ROLE = {QAbstractButton: "push-button", QLineEdit: "entry", QPlainTextEdit: "text", QLabel: "label"}
_KEYS = {"enter": Qt.Key.Key_Return, "return": Qt.Key.Key_Return, "backspace": Qt.Key.Key_Backspace,
         "tab": Qt.Key.Key_Tab, "end": Qt.Key.Key_End, "home": Qt.Key.Key_Home, "a": Qt.Key.Key_A,
         "s": Qt.Key.Key_S, "down": Qt.Key.Key_Down, "up": Qt.Key.Key_Up}
_MODS = {"ctrl": Qt.KeyboardModifier.ControlModifier, "shift": Qt.KeyboardModifier.ShiftModifier}


def settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


def screenshot(win: QWidget) -> bytes:
    """The window as a small palette PNG (flat UI colours survive an 8-bit palette)."""
    settle()
    img = win.grab().toImage().convertToFormat(QImage.Format.Format_Indexed8, Qt.ImageConversionFlag.ThresholdDither)
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    return bytes(buf.data())


def a11y_nodes(win: QWidget) -> list[dict]:
    """Visible widgets with a role: role, name, text, class and bounds in window pixels."""
    nodes = [{"tag": "frame", "name": win.accessibleName() or win.windowTitle(), "text": "", "cls": type(win).__name__,
              "x": 0, "y": 0, "w": win.width(), "h": win.height()}]
    for w in win.findChildren(QWidget):
        role = next((r for cls, r in _ROLE.items() if isinstance(w, cls)), None)
        if role is None or not w.isVisibleTo(win):
            continue
        p = w.mapTo(win, QPoint(0, 0))
        text = w.text() if hasattr(w, "text") else w.toPlainText() if isinstance(w, QPlainTextEdit) else ""
        name = w.accessibleName() or (w.text() if isinstance(w, QAbstractButton) else "")
        nodes.append({"tag": role, "name": name, "text": text.replace("\n", " ")[:40].replace("\t", " "),
                      "cls": type(w).__name__, "x": p.x(), "y": p.y(), "w": w.width(), "h": w.height()})
    return nodes


def a11y_tsv(nodes: list[dict]) -> str:
    rows = [A11Y_HEADER] + [f"{n['tag']}\t{n['name']}\t{n['text']}\t{n['cls']}\t\t({n['x']}, {n['y']})\t"
                            f"({n['w']}, {n['h']})" for n in nodes]
    return "\n".join(rows) + "\n"


class Executor:
    """Performs parsed actions on a window with real Qt events."""

    def __init__(self, win: QWidget, tags: dict[str, tuple[int, int]] | None = None) -> None:
        self.win, self.tags = win, tags or {}
        self.pointer = (0.0, 0.0)

    def _px(self, a: Action) -> tuple[int, int] | None:
        if a.coords == "tag":
            return self.tags[a.target]
        p = a.to_pixels(self.win.width(), self.win.height())
        return (round(p[0]), round(p[1])) if p else None

    def _target(self, x: int, y: int) -> tuple[QWidget, QPoint]:
        w = self.win.childAt(QPoint(x, y)) or self.win
        return w, w.mapFrom(self.win, QPoint(x, y))

    def run(self, code: str) -> list:
        acts = parse_action(code, self.pointer)
        for a in acts:
            p = self._px(a)
            if a.kind in ("click", "double_click", "right_click") and p:
                w, local = self._target(*p)
                btn = Qt.MouseButton.RightButton if a.kind == "right_click" else Qt.MouseButton.LeftButton
                click = QTest.mouseDClick if a.kind == "double_click" else QTest.mouseClick
                click(w, btn, Qt.KeyboardModifier.NoModifier, local)
            elif a.kind == "drag" and p:
                start = (round(self.pointer[0]), round(self.pointer[1]))
                w, local0 = self._target(*start)
                local1 = w.mapFrom(self.win, QPoint(*p))
                QTest.mousePress(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, local0)
                for f in (0.5, 1.0):
                    pt = QPointF(local0.x() + f * (local1.x() - local0.x()), local0.y() + f * (local1.y() - local0.y()))
                    QApplication.sendEvent(w, QMouseEvent(QEvent.Type.MouseMove, pt, w.mapToGlobal(pt),
                                                          Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton,
                                                          Qt.KeyboardModifier.NoModifier))
                QTest.mouseRelease(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, local1)
            elif a.kind in ("scroll", "hscroll") and p:
                w, local = self._target(*p)
                ev = QWheelEvent(QPointF(local), QPointF(w.mapToGlobal(local)), QPoint(0, 0),
                                 QPoint(0, int(120 * (a.amount or 0))), Qt.MouseButton.NoButton,
                                 Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
                QApplication.sendEvent(w, ev)
            elif a.kind == "type" and a.text:
                QTest.keyClicks(QApplication.focusWidget() or self.win, a.text)
            elif a.kind in ("key", "hotkey") and a.keys:
                mods = Qt.KeyboardModifier.NoModifier
                for k in a.keys[:-1]:
                    mods |= _MODS[k]
                QTest.keyClick(QApplication.focusWidget() or self.win, _KEYS[a.keys[-1]], mods)
            if p and a.kind not in ("scroll", "hscroll"):
                self.pointer = p
            settle()
        return acts


class ScriptedAgent:
    """Turns a plan of intents into code using the observed a11y tree, like an a11y-tree agent.

    Intents: ``("click", name)``, ``("click_rel", name)``, ``("click_tag", name)``, ``("type", text)``,
    ``("hotkey", *keys)``, ``("drag", (x0, y0), (x1, y1))``, ``("scroll", name, clicks)``, or a primitive
    string (``"DONE"``, ``"FAIL"``, ``"ANS 42"``, ``"WAIT 1"``). ``noise`` is the probability that a click
    lands one button-width off (seeded).
    """

    def __init__(self, win: QWidget, noise: float = 0.0, seed: int = 0) -> None:
        self.win, self.noise, self.rng = win, noise, random.Random(seed)

    def code_for(self, intent: str | tuple, nodes: list[dict], tags: dict[str, tuple[int, int]]) -> tuple[str, str]:
        """(code as the agent writes it, code as executed with absolute pixels)."""
        if isinstance(intent, str):
            return intent, intent
        kind = intent[0]
        if kind in ("click", "click_rel", "click_tag", "scroll"):
            node = next(n for n in nodes if n["name"] == intent[1])
            x, y = node["x"] + node["w"] // 2, node["y"] + node["h"] // 2
            if kind != "click_tag" and self.noise and self.rng.random() < self.noise:
                x += self.rng.choice((-1, 1)) * (node["w"] + 4)
            if kind == "scroll":
                code = f"pyautogui.scroll({intent[2]}, x={x}, y={y})"
                return code, code
            absolute = f"pyautogui.click({x}, {y})"
            if kind == "click_rel":
                return f"pyautogui.click({x / self.win.width():.4f}, {y / self.win.height():.4f})", absolute
            if kind == "click_tag":
                tag = next(t for t, pos in tags.items() if pos == (x, y))
                return f"pyautogui.click({tag})", absolute
            return absolute, absolute
        if kind == "type":
            code = f"pyautogui.typewrite({intent[1]!r}, interval=0.02)"
            return code, code
        if kind == "hotkey":
            code = "pyautogui.hotkey(" + ", ".join(repr(k) for k in intent[1:]) + ")"
            return code, code
        if kind == "drag":
            (x0, y0), (x1, y1) = intent[1], intent[2]
            code = f"pyautogui.moveTo({x0}, {y0})\npyautogui.dragTo({x1}, {y1}, duration=0.4)"
            return code, code
        raise ValueError(f"unknown intent {intent!r}")

    def step(self, intents: list, thought: str, executor: Executor) -> RecordedStep:
        """Observe, decide code for each intent, execute it; the screen after each action is kept."""
        nodes = a11y_nodes(self.win)
        tags = {f"tag_{i}": (n["x"] + n["w"] // 2, n["y"] + n["h"] // 2) for i, n in enumerate(nodes)}
        executor.tags = tags
        rec = RecordedStep(screenshot(self.win), a11y_tsv(nodes), "")
        blocks = []
        for intent in intents:
            logged, executed = self.code_for(intent, nodes, tags)
            executor.run(executed)
            rec.actions.append(RecordedAction(logged, executed, screenshot(self.win)))
            blocks.append(logged)
        rec.response = f"Thought: {thought}\nAction:\n" + "\n".join(f"```\n{b}\n```" for b in blocks)
        return rec
