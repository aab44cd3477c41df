"""The screenshot of one step with its action drawn over it, and a lazily filled thumbnail strip.

Overlays: a red ring at clicks (label for tags/unresolved targets), an orange arrow for drags,
a teal chevron for scrolls, a banner with typed text or keys, and a blue box around the
accessibility element under the pointer. Images are decoded on demand; thumbnails only for
the items scrolled into view, a few per event-loop turn.
"""
from __future__ import annotations

import math
from pathlib import Path

from collections import OrderedDict

from PySide6.QtCore import QObject, QPointF, QRectF, QRunnable, QSize, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import (QColor, QFont, QIcon, QImage, QImageReader, QPainter, QPaintEvent, QPen, QPixmap,
                           QPolygonF, QResizeEvent)
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from backend.agents.a11y import A11yNode
from backend.agents.model import Action


def read_image(path: Path | None, max_size: QSize | None = None) -> QImage | None:
    """Decode a PNG (thread-safe: QImage, not QPixmap), optionally scaled down."""
    if path is None:
        return None
    reader = QImageReader(str(path))
    if max_size is not None and reader.size().isValid():
        reader.setScaledSize(reader.size().scaled(max_size, Qt.AspectRatioMode.KeepAspectRatio))
    img = reader.read()
    return None if img.isNull() else img


def load_pixmap(path: Path | None, max_size: QSize | None = None) -> QPixmap | None:
    img = read_image(path, max_size)
    return None if img is None else QPixmap.fromImage(img)


class _Job(QRunnable):
    def __init__(self, loader: "ImageLoader", key: tuple, path: Path, size: QSize | None) -> None:
        super().__init__()
        self.loader, self.key, self.path, self.size = loader, key, path, size

    def run(self) -> None:
        self.loader._done.emit(self.key, read_image(self.path, self.size))


class ImageLoader(QObject):
    """Decodes screenshots on one background thread; keeps the last few full images.

    Full-HD PNGs take tens of milliseconds to decode, so thumbnails and the next steps are
    decoded off the GUI thread and the step the user moves to is usually already in memory.
    """

    _done = Signal(object, object)
    loaded = Signal(object, object)  # key, QImage | None

    def __init__(self, parent: QObject | None = None, keep: int = 12) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.cache: OrderedDict[tuple, QImage | None] = OrderedDict()
        self.pending: set[tuple] = set()
        self.keep = keep
        self._done.connect(self._finish)

    def request(self, path: Path | None, size: QSize | None = None) -> None:
        key = (str(path), None if size is None else (size.width(), size.height()))
        if path is None or key in self.cache or key in self.pending:
            return
        self.pending.add(key)
        self.pool.start(_Job(self, key, path, size))

    def get(self, path: Path | None) -> QImage | None:
        """The full image now: from the cache, else decoded here."""
        if path is None:
            return None
        key = (str(path), None)
        if key not in self.cache:
            self._store(key, read_image(path))
        self.cache.move_to_end(key)
        return self.cache[key]

    def _store(self, key: tuple, img: QImage | None) -> None:
        self.cache[key] = img
        while len(self.cache) > self.keep:
            self.cache.popitem(last=False)

    def _finish(self, key: tuple, img: QImage | None) -> None:
        self.pending.discard(key)
        if key[1] is None:
            self._store(key, img)
        self.loaded.emit(key, img)

    def wait(self) -> None:
        self.pool.waitForDone()


class StepView(QWidget):
    """Paints a step's observation scaled to fit, with overlays in image coordinates."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(240, 180)
        self.pixmap: QPixmap | None = None
        self.actions: list[Action] = []
        self.highlight: A11yNode | None = None
        self.caption = ""
        self.message = "no step"

    def set_step(self, pixmap: QPixmap | None, actions: list[Action], highlight: A11yNode | None,
                 caption: str, message: str = "") -> None:
        self.pixmap, self.actions, self.highlight = pixmap, actions, highlight
        self.caption, self.message = caption, message
        self.update()

    def _frame(self) -> tuple[float, float, float]:
        """Scale and offset that fit the image under the caption line."""
        top = 22
        pw, ph = self.pixmap.width(), self.pixmap.height()
        s = min((self.width() - 8) / pw, (self.height() - top - 4) / ph)
        return s, (self.width() - pw * s) / 2, top + (self.height() - top - 4 - ph * s) / 2

    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().window())
        p.setPen(self.palette().text().color())
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        cap = p.fontMetrics().elidedText(self.caption, Qt.TextElideMode.ElideMiddle, self.width() - 8)
        p.drawText(QRectF(4, 0, self.width() - 8, 20), Qt.AlignmentFlag.AlignVCenter, cap)
        p.setFont(self.font())
        if self.pixmap is None:
            p.drawText(self.rect().adjusted(0, 22, 0, 0), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self.message or "no screenshot")
            return
        s, ox, oy = self._frame()
        pw, ph = self.pixmap.width(), self.pixmap.height()
        p.drawPixmap(QRectF(ox, oy, pw * s, ph * s), self.pixmap, QRectF(0, 0, pw, ph))
        p.setPen(QPen(QColor("#999"), 1))
        p.drawRect(QRectF(ox, oy, pw * s, ph * s))

        def at(x: float, y: float) -> QPointF:
            return QPointF(ox + x * s, oy + y * s)

        if self.highlight is not None and self.highlight.w:
            h = self.highlight
            p.setPen(QPen(QColor("#1e88e5"), 2, Qt.PenStyle.DashLine))
            p.drawRect(QRectF(at(h.x, h.y), at(h.x + h.w, h.y + h.h)))
        banner = []
        numbered = sum(1 for a in self.actions if a.to_pixels(pw, ph)) > 1
        for k, a in enumerate(self.actions, start=1):
            pt = a.to_pixels(pw, ph)
            if a.kind == "drag" and pt and a.x0 is not None:
                start = (a.x0 * pw, a.y0 * ph) if a.coords == "relative" else (a.x0, a.y0)
                self._arrow(p, at(*start), at(*pt))
            elif a.kind in ("scroll", "hscroll") and pt:
                c = at(*pt)
                d = -10 if (a.amount or 0) > 0 else 10
                p.setPen(QPen(QColor("#00838f"), 3))
                for k in (0, 8):
                    p.drawPolyline(QPolygonF([c + QPointF(-9, k), c + QPointF(0, k + d), c + QPointF(9, k)]))
                banner.append(f"scroll {a.amount:g}" if a.amount is not None else "scroll")
            elif pt:
                c = at(*pt)
                p.setPen(QPen(QColor("#e53935"), 3))
                r = 6 if a.kind == "move" else 11
                p.drawEllipse(c, r, r)
                p.setBrush(QColor("#e53935"))
                p.drawEllipse(c, 2.5, 2.5)
                p.setBrush(Qt.BrushStyle.NoBrush)
                special = a.kind in ("double_click", "right_click", "triple_click")
                label = (f"{k}" if numbered else "") + (" " + a.kind.replace("_", " ") if special else "")
                if label.strip():
                    p.drawText(c + QPointF(12, -8), label.strip())
            elif a.coords in ("tag", "unresolved"):
                banner.append(f"{a.kind} → {a.target} (position not logged)")
            if a.kind == "type" and a.text:
                banner.append(f"⌨ “{a.text}”")
            elif a.kind in ("key", "hotkey") and a.keys:
                banner.append("⌨ " + "+".join(a.keys))
            elif a.kind in ("done", "fail", "answer", "wait", "timeout", "code"):
                banner.append(a.describe())
        if banner:
            text = "   ".join(banner)
            fm = p.fontMetrics()
            w = min(fm.horizontalAdvance(text) + 16, pw * s)
            box = QRectF(ox, oy + ph * s - fm.height() - 8, w, fm.height() + 8)
            p.fillRect(box, QColor(0, 0, 0, 180))
            p.setPen(QColor("white"))
            shown = fm.elidedText(text, Qt.TextElideMode.ElideRight, int(w - 12))
            p.drawText(box.adjusted(8, 0, -4, 0), Qt.AlignmentFlag.AlignVCenter, shown)

    @staticmethod
    def _arrow(p: QPainter, a: QPointF, b: QPointF) -> None:
        p.setPen(QPen(QColor("#ff6f00"), 3))
        p.drawLine(a, b)
        ang = math.atan2(b.y() - a.y(), b.x() - a.x())
        head = [b + QPointF(-12 * math.cos(ang - t), -12 * math.sin(ang - t)) for t in (0.45, -0.45)]
        p.setBrush(QColor("#ff6f00"))
        p.drawPolygon(QPolygonF([b, *head]))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(a, 4, 4)


class Timeline(QListWidget):
    """A horizontal strip of step thumbnails; images load only when their item is visible."""

    THUMB = QSize(112, 70)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setFlow(QListWidget.Flow.LeftToRight)
        self.setWrapping(False)
        self.setIconSize(self.THUMB)
        self.setMovement(QListWidget.Movement.Static)
        self.setFixedHeight(self.THUMB.height() + 48)
        self.setHorizontalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.setGridSize(QSize(self.THUMB.width() + 10, self.THUMB.height() + 24))
        self._paths: list[Path | None] = []
        self._loaded: set[int] = set()
        self.loaded_count = 0
        self.loader = ImageLoader(self, keep=0)
        self.loader.loaded.connect(self._thumb_ready)
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self._load_some)
        self.horizontalScrollBar().valueChanged.connect(lambda _v: self._timer.start())

    def set_steps(self, labels: list[str], paths: list[Path | None]) -> None:
        self.clear()
        self._paths, self._loaded = list(paths), set()
        for label in labels:
            QListWidgetItem(label, self)
        self.doItemsLayout()
        self._timer.start()

    def _visible(self) -> list[int]:
        vp = self.viewport().rect()
        return [i for i in range(self.count())
                if i not in self._loaded and self.visualItemRect(self.item(i)).intersects(vp)]

    def _load_some(self) -> None:
        todo = self._visible()
        for i in todo:
            self._loaded.add(i)
            self.loader.request(self._paths[i], self.THUMB)

    def _thumb_ready(self, key: tuple, img: QImage | None) -> None:
        if img is None:
            return
        for i, p in enumerate(self._paths):
            if str(p) == key[0] and i < self.count():
                self.item(i).setIcon(QIcon(QPixmap.fromImage(img)))
                self.loaded_count += 1

    def resizeEvent(self, e: QResizeEvent) -> None:
        super().resizeEvent(e)
        self._timer.start()
