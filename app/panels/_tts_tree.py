"""Drawing one problem's search: a tree of steps (beam search, DVTS) or N chains (sampling).

Each node is a box with the step text and its PRM score, coloured from red (0) to green (1).
Depth runs left to right; the winning path is outlined in blue and thick; pruned nodes are
faded, truncated ones grey and dashed, finished ones (an answer) bold with the answer shown.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget

BOX_W, BOX_H, GAP_X, GAP_Y = 160, 40, 34, 8
WIN = QColor("#0072B2")


def chains_as_tree(candidates: list[dict]) -> list[dict]:
    """Nodes for N independent samples: each candidate is a chain of its steps from the root."""
    nodes: list[dict] = []
    for ci, c in enumerate(candidates):
        parent = -1
        scores = c.get("scores") or [None] * len(c.get("steps", []))
        for d, (step, s) in enumerate(zip(c.get("steps", []), scores)):
            last = d == len(c["steps"]) - 1
            nodes.append({"id": len(nodes), "parent": parent, "depth": d, "step": step, "score": s,
                          "status": "final" if last else "kept", "answer": c.get("answer") if last else None,
                          "candidate": ci})
            parent = nodes[-1]["id"]
    return nodes


def winning_path(nodes: list[dict], winner_node: int | None) -> set[int]:
    by_id = {n["id"]: n for n in nodes}
    path, cur = set(), winner_node
    while cur is not None and cur in by_id:
        path.add(cur)
        cur = by_id[cur]["parent"]
    return path


def score_color(score: float | None) -> QColor:
    if score is None:
        return QColor("#d0d0d0")
    s = max(0.0, min(1.0, float(score)))
    red, green = QColor("#e8a090"), QColor("#8fd19e")
    return QColor(int(red.red() + (green.red() - red.red()) * s), int(red.green() + (green.green() - red.green()) * s),
                  int(red.blue() + (green.blue() - red.blue()) * s))


def layout(nodes: list[dict]) -> dict[int, tuple[float, float]]:
    """(x, y) of every node: leaves on consecutive rows in depth-first order, parents centred."""
    children: dict[int, list[int]] = {}
    for n in nodes:
        children.setdefault(n["parent"], []).append(n["id"])
    by_id = {n["id"]: n for n in nodes}
    pos: dict[int, tuple[float, float]] = {}
    row = [0]

    def place(nid: int) -> float:
        kids = children.get(nid, [])
        if not kids:
            y = row[0] * (BOX_H + GAP_Y)
            row[0] += 1
        else:
            ys = [place(k) for k in kids]
            y = (ys[0] + ys[-1]) / 2
        pos[nid] = ((by_id[nid]["depth"] + 1) * (BOX_W + GAP_X), y)
        return y

    ys = [place(k) for k in children.get(-1, [])]
    pos[-1] = (0.0, (ys[0] + ys[-1]) / 2 if ys else 0.0)
    return pos


class SearchTreeView(QGraphicsView):
    """Shows one problem's nodes; ``set_tree(nodes, winner_node, root_label)``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.node_count = 0
        self._focus: tuple[float, float] | None = None

    def wheelEvent(self, event: QWheelEvent) -> None:  # Qt override: zoom
        f = 1.15 if event.angleDelta().y() > 0 else 1 / 1.15
        self.scale(f, f)

    def set_tree(self, nodes: list[dict], winner_node: int | None, root_label: str = "problem") -> None:
        scene = self.scene()
        scene.clear()
        self.node_count = len(nodes)
        if not nodes:
            scene.addText("No steps to show for this problem.")
            return
        pos = layout(nodes)
        win = winning_path(nodes, winner_node)
        font = QFont()
        font.setPointSize(8)
        for n in nodes:                                  # edges first, under the boxes
            x, y = pos[n["id"]]
            px, py = pos.get(n["parent"], pos[-1])
            on_path = n["id"] in win
            pen = QPen(WIN if on_path else QColor("#9a9a9a"), 3 if on_path else 1)
            scene.addLine(px + BOX_W, py + BOX_H / 2, x, y + BOX_H / 2, pen)
        rx, ry = pos[-1]
        root = scene.addRect(QRectF(rx, ry, BOX_W, BOX_H), QPen(QColor("#555")), QBrush(QColor("#eeeeee")))
        root.setToolTip(root_label)
        t = scene.addText(_elide(root_label, 30), font)
        t.setPos(rx + 4, ry + 2)
        for n in nodes:
            x, y = pos[n["id"]]
            status = n.get("status", "")
            fill = score_color(n.get("score"))
            if status == "pruned":
                fill.setAlpha(110)
            pen = QPen(QColor("#777"), 1)
            if status == "truncated":
                pen.setStyle(Qt.PenStyle.DashLine)
            if status == "final":
                pen = QPen(QColor("#333"), 2)
            if n["id"] in win:
                pen = QPen(WIN, 3)
            box = scene.addRect(QRectF(x, y, BOX_W, BOX_H), pen, QBrush(fill))
            score = "—" if n.get("score") is None else f"{n['score']:.2f}"
            tip = f"{n.get('step', '')}\nPRM score {score}; status {status or '-'}"
            if n.get("answer") is not None:
                tip += f"\nanswer {n['answer']}"
            box.setToolTip(tip)
            label = _elide(n.get("step", "") or "(empty)", 27)
            second = f"p={score}" + (f"   → {n['answer']}" if n.get("answer") is not None else f"   {status}")
            text = scene.addText(f"{label}\n{second}", font)
            text.setPos(x + 3, y)
            text.setToolTip(tip)
        self.setSceneRect(scene.itemsBoundingRect().adjusted(-10, -10, 10, 10))
        self._focus = pos.get(winner_node) if winner_node is not None else None
        self.fit()

    def fit(self) -> None:
        """Scale so the whole tree fits (never enlarged, never below 75 % so text stays readable;
        beyond that it scrolls), then centre the winning answer's node (or the top of the tree)."""
        rect = self.sceneRect()
        if rect.width() <= 0:
            return
        self.resetTransform()
        wfit = (self.viewport().width() - 4) / rect.width()
        hfit = (self.viewport().height() - 4) / max(rect.height(), 1.0)
        s = max(0.75, min(1.0, wfit, hfit))
        self.scale(s, s)
        if self._focus is not None:
            self.centerOn(self._focus[0] + BOX_W / 2, self._focus[1])
        else:
            self.centerOn(rect.center().x(), rect.top())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.node_count:
            self.fit()


def _elide(text: str, n: int) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "…"
