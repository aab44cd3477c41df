"""The Qt binding must not leak references on signal emission.

PySide6 6.12.0's ``Signal.emit()`` returns ``True`` without taking a reference. On Python 3.11
(where ``True`` is not immortal) every emit drops its count by one, and after a few thousand
emits -- minutes of live plotting, or a test session -- the interpreter aborts with
"bool_dealloc: deallocating True or False". pyproject.toml excludes that release.
"""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    bare = Signal()
    value = Signal(int)


def test_emitting_signals_keeps_the_refcount_of_true(qapp):
    e = _Emitter()
    e.value.connect(lambda _v: None)
    before = sys.getrefcount(True)
    for _ in range(500):
        e.bare.emit()
        e.value.emit(1)
    assert abs(sys.getrefcount(True) - before) < 50, "this PySide6 release leaks a reference per emit"
