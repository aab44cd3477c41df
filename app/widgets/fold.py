"""A checkable group box that folds away: closed, it is its check box and title alone.

Fusion draws a closed checkable ``QGroupBox`` with its frame (an empty bar under the title, or a
line for a flat box); the settings columns have several such boxes (Advanced, Prompt, Compute,
Engine), so at 1280x720 the empty frames cost height and read as broken widgets. Closed, the
box drops its frame (a style sheet without colours, so both themes keep their palette), its
margins and any height beyond the title line.
"""
from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QLayout, QWidget

# a style sheet renders the check box too, so the (always unchecked) closed indicator is drawn
# here in the palette's colours, as Fusion draws it; open, the box is Fusion's own again
_CLOSED = ("QGroupBox { border: none; }"
           " QGroupBox::indicator { width: 12px; height: 12px; border: 1px solid palette(mid);"
           " border-radius: 2px; background: palette(base); }")
_UNLIMITED = 16777215


def make_foldable(box: QGroupBox, body: QWidget, layout: QLayout, margins: int = 4) -> None:
    """Show ``body`` (inside ``layout``, the box's layout) only while ``box`` is checked. The box is
    made checkable before (``setCheckable(True)`` also checks it)."""

    def fold(on: bool) -> None:
        body.setVisible(on)
        layout.setContentsMargins(*((margins,) * 4 if on else (0, 0, 0, 0)))
        box.setStyleSheet("" if on else _CLOSED)
        box.setMaximumHeight(_UNLIMITED if on else box.fontMetrics().height() + 8)

    fold(box.isChecked())
    box.toggled.connect(fold)
