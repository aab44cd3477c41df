"""Step cards: one framed card per step, coloured by its score, with the first-error marker;
a generative PRM's card opens its rationale, verification code and sandbox output."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QTextEdit, QToolButton, QVBoxLayout, QWidget


def score_color(score: float) -> str:
    """Red (0) through yellow (0.5) to green (1), light enough for dark text."""
    s = min(1.0, max(0.0, float(score)))
    lo, mid, hi = (239, 118, 122), (250, 226, 140), (130, 210, 140)
    a, b, t = (lo, mid, 2 * s) if s < 0.5 else (mid, hi, 2 * s - 1)
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b))
    return f"rgb({r},{g},{bl})"


class StepCard(QFrame):
    def __init__(self, index: int, text: str, score: float, first_error: bool, judgements: dict | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        border = "3px solid #b00020" if first_error else "1px solid #888"
        self.setStyleSheet(f"StepCard {{ background: {score_color(score)}; border: {border}; border-radius: 6px; }}"
                           " QLabel { color: #111; background: transparent; }")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        head = f"<b>Step {index + 1}</b> &nbsp; p(correct) = <b>{score:.3f}</b>"
        if first_error:
            head += " &nbsp; <span style='color:#b00020'><b>◀ first error</b></span>"
        self.header = QLabel(head)
        lay.addWidget(self.header)
        body = QLabel(text)
        body.setWordWrap(True)
        body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(body)
        self.details: QTextEdit | None = None
        if judgements:
            self.toggle = QToolButton()
            n = len(judgements.get("samples", []))
            self.toggle.setText(f"rationale, code and output ({n} judgement{'s' if n != 1 else ''})")
            self.toggle.setCheckable(True)
            self.details = QTextEdit()
            self.details.setReadOnly(True)
            self.details.setHtml(judgement_html(judgements))
            self.details.setVisible(False)
            self.details.setMinimumHeight(160)
            self.toggle.toggled.connect(self.details.setVisible)
            lay.addWidget(self.toggle)
            lay.addWidget(self.details)


def judgement_html(j: dict) -> str:
    parts = []
    for k, s in enumerate(j.get("samples", []), 1):
        parts.append(
            f"<p><b>Judgement {k}</b>: p(Yes)={s['p_yes']:.3f}, p(No)={s['p_no']:.3f} → {s['score']:.3f}</p>"
            f"<p><i>Rationale</i>: {html.escape(s.get('rationale') or '(none)')}</p>"
            f"<p><i>Code</i>:</p><pre>{html.escape(s.get('code') or '(no <verify> block)')}</pre>"
            f"<p><i>Sandbox</i>: {html.escape(s.get('sandbox_status', ''))} — "
            f"{html.escape(s.get('sandbox_reason', ''))}</p>"
            f"<p><i>Output</i>:</p><pre>{html.escape(s.get('output') or '(empty)')}</pre><hr>")
    return "".join(parts)


class StepColumn(QScrollArea):
    """A titled column of step cards for one PRM."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.inner = QWidget()
        self.lay = QVBoxLayout(self.inner)
        self.lay.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.setWidget(self.inner)
        self.cards: list[StepCard] = []
        self.title = QLabel("")
        self.lay.addWidget(self.title)

    def show_steps(self, title: str, steps: list[str], scores: list[float], first_error: int,
                   judgements: list[dict] | None = None, label: int | None = None) -> None:
        for c in self.cards:
            c.setParent(None)
            c.deleteLater()
        self.cards = []
        extra = ""
        if label is not None:
            extra = f" · reference earliest error: {'none' if label == -1 else f'step {label + 1}'}"
        fe = "none" if first_error == -1 else f"step {first_error + 1}"
        name = title if title.startswith("zoo:") or "(" in title else title.rstrip("/").rsplit("/", 1)[-1]
        self.title.setText(f"<b>{html.escape(name)}</b> · predicted first error: {fe}{extra}<br>"
                           "<small>colour: red = likely wrong … green = likely right</small>")
        for i, (s, sc) in enumerate(zip(steps, scores)):
            card = StepCard(i, s, sc, i == first_error, (judgements or [None] * len(steps))[i])
            self.lay.addWidget(card)
            self.cards.append(card)
