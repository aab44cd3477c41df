"""Agent replay: open a ScienceBoard or OSWorld run folder and replay, score and compare it.

Left: the run's tasks with status, score and steps, filtered by status/domain/text. Right,
"Replay": a thumbnail timeline, the screenshot the agent saw with its action drawn over it, the
a11y row under the pointer highlighted, the action code and model response, play/pause; pick a
second run to see the same task side by side, step-aligned. "Scores": the aggregates table and
success-rate bars of both runs. "Export HTML…" runs the ``replay.export`` job.

Opening a run reads only ``traj.jsonl``/result files (no images) on the GUI thread: it is
fast even for the 169-task benchmark (see ``bench/replay.py``).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.panels.base import Panel, register_panel
from app.panels._replay_stepview import ImageLoader, StepView, Timeline
from app.widgets.params_form import ParamsForm
from app.widgets.plots import GroupedBarChart, accuracy_axis
from app.widgets.run_controls import RunControls
from app.widgets.tables import DictTable
from backend.agents.a11y import A11yNode, element_at, read_a11y
from backend.agents.aggregate import aggregate, pct
from backend.agents.model import STATUSES, Run, Step, Task
from backend.agents.params import ReplayExportParams
from backend.agents.reader import open_run
from backend.jobs import JobSpec
from backend.resources import resource_path

if TYPE_CHECKING:
    from app.context import AppContext
    from backend.workspace import RunRecord

SAMPLES = resource_path("sample_runs")
STATUS_COLORS = {"pass": "#2e7d32", "partial": "#f9a825", "fail": "#c62828", "crashed": "#6a1b9a", "skipped": "#757575"}


def sample_runs() -> list[Path]:
    """The run folders shipped in ``resources/sample_runs`` (folders with task subfolders)."""
    found = []
    for p in sorted(SAMPLES.glob("scienceboard/*")) + sorted(SAMPLES.glob("osworld/*/*/*")):
        if p.is_dir() and p.name not in ("tasks", "evaluation_examples", "examples"):
            found.append(p)
    return found


class _Side(QWidget):
    """One run's view of a step: screenshot with overlays, a11y table, code and response."""

    def __init__(self, loader: ImageLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.view = StepView()
        self.a11y = QTableWidget(0, 4)
        self.a11y.setHorizontalHeaderLabels(["role", "name", "text", "bounds"])
        self.a11y.verticalHeader().setVisible(False)
        self.a11y.horizontalHeader().setStretchLastSection(True)
        self.a11y.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.code = QPlainTextEdit(readOnly=True)
        self.code.setMaximumBlockCount(2000)
        tabs = QTabWidget()
        tabs.addTab(self.code, "Action && response")
        tabs.addTab(self.a11y, "A11y tree")
        self.tabs = tabs
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.view)
        split.addWidget(tabs)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)
        self.highlighted_row: int | None = None

    def show_step(self, run_name: str, task: Task | None, i: int) -> None:
        if task is None or not task.steps:
            why = "this run has no such task" if task is None else "no steps logged"
            self.view.set_step(None, [], None, run_name, why)
            self.code.setPlainText(task.crash or "" if task else "")
            self.a11y.setRowCount(0)
            return
        step: Step = task.steps[min(i, len(task.steps) - 1)]
        img = self.loader.get(step.observation)
        pix = None if img is None else QPixmap.fromImage(img)
        for nxt in task.steps[i + 1:i + 3]:  # decode the next steps in the background
            self.loader.request(nxt.observation)
        when = "screen before the action" if task.format == "scienceboard" else "screen before (= previous after)"
        caption = f"step {step.index + 1}/{len(task.steps)} · {when} · {run_name} · {task.key}"
        if i >= len(task.steps):
            caption += " · (this run ended earlier)"
        nodes = read_a11y(step.a11y).nodes if step.a11y else []
        hit = None
        if pix is not None and nodes:
            pts = [a.to_pixels(pix.width(), pix.height()) for a in step.actions]
            pts = [p for p in pts if p]
            hit = element_at(nodes, *pts[-1]) if pts else None
        msg = f"screenshot {step.screenshot_name} is missing" if step.screenshot_missing else "no screenshot"
        self.view.set_step(pix, step.actions, hit, caption, msg)
        self._fill_a11y(nodes, hit)
        lines = ["# actions: " + "; ".join(a.describe() for a in step.actions)]
        if hit is not None:
            lines.append(f"# under the pointer: {hit.tag} “{hit.name or hit.text}” (a11y row {hit.row})")
        if step.error:
            lines.append(f"# CRASH: {step.error}")
        lines += [r if isinstance(r, str) else str(r) for r in step.raw_actions]
        if step.response:
            lines += ["", "# model response:", step.response]
        self.code.setPlainText("\n".join(lines))

    def _fill_a11y(self, nodes: list[A11yNode], hit: A11yNode | None) -> None:
        self.a11y.setRowCount(len(nodes))
        self.highlighted_row = None
        for r, n in enumerate(nodes):
            vals = [n.tag, n.name, n.text, f"{n.x:g},{n.y:g} {n.w:g}×{n.h:g}" if n.w is not None else "?"]
            for c, v in enumerate(vals):
                item = QTableWidgetItem(v)
                if n is hit:
                    item.setBackground(QColor("#bbdefb"))
                self.a11y.setItem(r, c, item)
            if n is hit:
                self.highlighted_row = r
        if self.highlighted_row is not None:
            self.a11y.selectRow(self.highlighted_row)


@register_panel
class ReplayPanel(Panel):
    panel_id = "replay"
    title = "Agent replay"
    description = "Replay, score and compare computer-using-agent runs (ScienceBoard, OSWorld)"
    kinds = ("replay.export",)
    order = 80

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.runs: dict[str, Run] = {}
        self.run: Run | None = None
        self.other: Run | None = None
        self.task: Task | None = None
        self.step_index = 0
        self.run_box, self.cmp_box = QComboBox(), QComboBox()
        self.run_box.setMinimumContentsLength(24)
        self.cmp_box.setMinimumContentsLength(20)
        open_btn = QPushButton("Open run…")
        open_btn.clicked.connect(self._choose_folder)
        # the one job of this panel: the HTML report, its setting from ReplayExportParams
        self.export_form = ParamsForm(ReplayExportParams, parent=self)
        self.controls = RunControls(context, start_text="Export HTML…", parent=self)
        self.controls.start_requested.connect(lambda: self.export_html())
        self.controls.setMaximumWidth(360)
        self.export_btn = self.controls.start_button
        top = QHBoxLayout()
        for w in (QLabel("Run"), self.run_box, open_btn, QLabel("Compare with"), self.cmp_box):
            top.addWidget(w, 0, Qt.AlignmentFlag.AlignTop)
        top.addStretch(1)
        top.addWidget(self.export_form, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.controls, 0, Qt.AlignmentFlag.AlignTop)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.status_filter, self.domain_filter = QComboBox(), QComboBox()
        self.status_filter.addItems(["all", *STATUSES])
        self.search = QLineEdit(placeholderText="filter tasks")
        self.tasks = QTableWidget(0, 5)
        self.tasks.setHorizontalHeaderLabels(["task", "status", "score", "steps", "budget"])
        self.tasks.verticalHeader().setVisible(False)
        self.tasks.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.tasks.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.tasks.horizontalHeader().setStretchLastSection(True)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        fl = QHBoxLayout()
        fl.addWidget(self.status_filter)
        fl.addWidget(self.domain_filter)
        fl.addWidget(self.search, 1)
        ll.addLayout(fl)
        ll.addWidget(self.tasks)
        self.timeline = Timeline()
        self.play_btn = QPushButton("▶ Play")
        self.play_btn.setCheckable(True)
        self.play_btn.toggled.connect(self._toggle_play)
        prev_btn, next_btn = QPushButton("◀ Prev"), QPushButton("Next ▶")
        prev_btn.clicked.connect(lambda: self.set_step(self.step_index - 1))
        next_btn.clicked.connect(lambda: self.set_step(self.step_index + 1))
        self.task_info = QLabel()
        self.task_info.setWordWrap(True)
        nav = QHBoxLayout()
        for w in (prev_btn, self.play_btn, next_btn):
            nav.addWidget(w)
        nav.addWidget(self.task_info, 1)
        self.loader = ImageLoader(self)
        self.side_a, self.side_b = _Side(self.loader), _Side(self.loader)
        self.side_b.hide()
        sides = QSplitter(Qt.Orientation.Horizontal)
        sides.addWidget(self.side_a)
        sides.addWidget(self.side_b)
        replay = QWidget()
        rl = QVBoxLayout(replay)
        rl.addLayout(nav)
        rl.addWidget(self.timeline)
        rl.addWidget(sides, 1)
        self.scores = DictTable()
        self.chart = GroupedBarChart("success rate by domain", "solved (0–1)")
        scores = QSplitter(Qt.Orientation.Vertical)
        scores.addWidget(self.scores)
        scores.addWidget(self.chart)
        self.tabs = QTabWidget()
        self.tabs.addTab(replay, "Replay")
        self.tabs.addTab(scores, "Scores")
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(left)
        body.addWidget(self.tabs)
        body.setSizes([330, 1000])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.summary)
        lay.addWidget(body, 1)
        self._timer = QTimer(self, interval=900)
        self._timer.timeout.connect(self._tick)
        self.run_box.currentIndexChanged.connect(lambda _i: self._select_run(self.run_box.currentData()))
        self.cmp_box.currentIndexChanged.connect(lambda _i: self._select_other(self.cmp_box.currentData()))
        for w in (self.status_filter, self.domain_filter):
            w.currentIndexChanged.connect(lambda _i: self._fill_tasks())
        self.search.textChanged.connect(lambda _t: self._fill_tasks())
        self.tasks.itemSelectionChanged.connect(self._task_selected)
        self.timeline.currentRowChanged.connect(lambda r: r >= 0 and r != self.step_index and self.set_step(r))
        self.cmp_box.addItem("(none)", None)
        for p in sample_runs():
            fmt = p.parent.parent.name if "osworld" in p.parts else "scienceboard"
            self.run_box.addItem(f"sample: {p.name} ({fmt})", str(p))
            self.cmp_box.addItem(p.name, str(p))

    # -- runs --------------------------------------------------------------------------------
    def open_folder(self, path: str | Path, compare: bool = False) -> Run:
        """Open a run folder (adds it to both pickers) and show it, or compare against it."""
        key = str(Path(path).resolve())
        run = self.runs.get(key) or open_run(key)
        self.runs[key] = run
        for box in (self.run_box, self.cmp_box):
            if box.findData(key) < 0:
                box.addItem(run.name, key)
        box = self.cmp_box if compare else self.run_box
        box.setCurrentIndex(box.findData(key))
        return run

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a ScienceBoard or OSWorld run folder")
        if path:
            try:
                self.open_folder(path)
            except (FileNotFoundError, OSError, ValueError) as exc:
                self.summary.setText(f"<span style='color:#c62828'>{exc}</span>")

    def _load(self, key: str | None) -> Run | None:
        if not key:
            return None
        if key not in self.runs:
            self.runs[key] = open_run(key)
        return self.runs[key]

    def _select_run(self, key: str | None) -> None:
        self.run = self._load(key)
        if self.run is None:
            return
        self.domain_filter.blockSignals(True)
        self.domain_filter.clear()
        self.domain_filter.addItems(["all domains", *sorted({t.domain for t in self.run.tasks})])
        self.domain_filter.blockSignals(False)
        agg = aggregate(self.run)
        o = agg["overall"]
        probs = len(agg["problems"])
        self.summary.setText(
            f"<b>{self.run.name}</b> ({self.run.format}) — overall (mean of domain rates) "
            f"<b>{pct(o['macro_rate'])}</b> · "
            f"solved/total <b>{o['pass']}/{o['total']}</b> = {pct(o['solved_rate'])} "
            f"(crashed {o['crashed']}, skipped {o['skipped']} counted) · finished-only {pct(o['finished_rate'])}"
            + (f" · <span style='color:#c62828'>{probs} input problem(s): see task notes</span>" if probs else ""))
        self._fill_tasks()
        self._fill_scores()
        if self.tasks.rowCount():
            self.tasks.selectRow(0)

    def _select_other(self, key: str | None) -> None:
        self.other = self._load(key)
        self.side_b.setVisible(self.other is not None)
        self._fill_scores()
        self.set_step(self.step_index)

    # -- task list ---------------------------------------------------------------------------
    def visible_tasks(self) -> list[Task]:
        if self.run is None:
            return []
        st, dom, text = self.status_filter.currentText(), self.domain_filter.currentText(), self.search.text().lower()
        return [t for t in self.run.tasks if (st == "all" or t.status == st)
                and (dom in ("", "all domains") or t.domain == dom)
                and (not text or text in t.key.lower() or text in (t.instruction or "").lower())]

    def _fill_tasks(self) -> None:
        tasks = self.visible_tasks()
        self.tasks.setRowCount(len(tasks))
        for r, t in enumerate(tasks):
            vals = [t.key, t.status, "" if t.score is None else f"{t.score:g}", str(len(t.steps)), str(t.budget or "")]
            for c, v in enumerate(vals):
                item = QTableWidgetItem(v)
                if c == 1:
                    item.setForeground(QColor(STATUS_COLORS[t.status]))
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, t.key)
                    item.setToolTip(t.instruction or "")
                self.tasks.setItem(r, c, item)
        self.tasks.resizeColumnsToContents()

    def _task_selected(self) -> None:
        rows = self.tasks.selectionModel().selectedRows()
        if not rows or self.run is None:
            return
        self.show_task(self.tasks.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole))

    def show_task(self, key: str) -> None:
        self.task = self.run.task(key)
        for r in range(self.tasks.rowCount()):
            if self.tasks.item(r, 0).data(Qt.ItemDataRole.UserRole) == key and not self.tasks.item(r, 0).isSelected():
                self.tasks.blockSignals(True)
                self.tasks.selectRow(r)
                self.tasks.blockSignals(False)
        t = self.task
        checks = [c.get("pred") or c.get("value") for c in (t.definition or {}).get("evaluate", [])]
        info = f"<b>{t.key}</b> [{t.status}] {t.instruction or ''}"
        if t.crash:
            info += f"<br><span style='color:#6a1b9a'>{t.crash.strip().splitlines()[-1]}</span>"
        if checks:
            info += ("<br><span style='color:gray'>checks (text, not evaluated): " + "; ".join(map(str, checks))
                     + "</span>")
        if t.problems:
            info += "<br><span style='color:#c62828'>" + "<br>".join(map(str, t.problems[:3])) + "</span>"
        self.task_info.setText(info)
        labels = [f"{s.index + 1}" + (" ✗" if s.error else "") + (" ?" if s.screenshot_missing else "")
                  for s in t.steps]
        self.timeline.set_steps(labels, [s.observation for s in t.steps])
        self.step_index = 0
        self.set_step(0)

    def _matching(self, run: Run | None) -> Task | None:
        """The same task in the other run: same key, else the same instruction."""
        if run is None or self.task is None:
            return None
        return run.task(self.task.key) or next(
            (t for t in run.tasks if t.instruction and t.instruction == self.task.instruction), None)

    # -- stepping ----------------------------------------------------------------------------
    def set_step(self, i: int) -> None:
        if self.task is None:
            return
        n = max(len(self.task.steps), len(o.steps) if (o := self._matching(self.other)) else 0)
        self.step_index = max(0, min(i, n - 1)) if n else 0
        self.side_a.show_step(self.run.name, self.task, self.step_index)
        if self.other is not None:
            self.side_b.show_step(self.other.name, self._matching(self.other), self.step_index)
        if self.step_index < self.timeline.count():
            self.timeline.blockSignals(True)
            self.timeline.setCurrentRow(self.step_index)
            self.timeline.blockSignals(False)

    def _toggle_play(self, on: bool) -> None:
        self.play_btn.setText("⏸ Pause" if on else "▶ Play")
        self._timer.start() if on else self._timer.stop()

    def _tick(self) -> None:
        n = len(self.task.steps) if self.task else 0
        if self.step_index + 1 >= n:
            self.play_btn.setChecked(False)
        else:
            self.set_step(self.step_index + 1)

    # -- scores and export -------------------------------------------------------------------
    def _fill_scores(self) -> None:
        runs = [r for r in (self.run, self.other) if r is not None]
        rows, series, domains = [], {}, sorted({t.domain for r in runs for t in r.tasks})
        for r in runs:
            agg = aggregate(r)
            by = {d["domain"]: d for d in agg["domains"]}
            for d in agg["domains"] + [{"domain": "overall", **agg["overall"]}]:
                rows.append({"run": r.name, "domain": d["domain"], "tasks": d["total"], "pass": d["pass"],
                             "partial": d["partial"], "fail": d["fail"], "crashed": d["crashed"],
                             "skipped": d["skipped"], "solved/total %": 100 * (d["solved_rate"] or 0),
                             "finished-only %": None if d["finished_rate"] is None else 100 * d["finished_rate"],
                             "macro %": 100 * d["macro_rate"] if d.get("macro_rate") is not None else None})
            series[r.name] = [(by[d]["solved_rate"] or 0) if d in by else 0 for d in domains]
        self.scores.set_rows(rows)
        self.chart.set_data(domains, series)
        accuracy_axis(self.chart, what="solved")  # one convention: rates on 0-1

    def export_html(self, out: str | Path | None = None) -> str | None:
        """Export the current run as a self-contained HTML report (a job; returns its run id)."""
        if self.run is None:
            return None
        if out is None:
            out, _ = QFileDialog.getSaveFileName(self, "Export replay report", f"{self.run.name}.html", "HTML (*.html)")
            if not out:
                return None
        try:
            p = self.export_form.params()
        except ValueError as exc:
            self.controls.set_error(str(exc))
            return None
        run_id = self.submit(JobSpec("replay.export", p.to_dict(), {"run": str(self.run.path), "out": str(out)},
                                     device="cpu", label=f"replay report: {self.run.name}"))
        self.controls.track(run_id)
        return run_id

    def show_run(self, run: RunRecord) -> None:  # a run of replay.export
        path = (run.result or {}).get("run") or run.spec.inputs.get("run")
        if path and Path(path).is_dir():
            self.open_folder(path)
            self.summary.setText(self.summary.text() + f" · report: {(run.result or {}).get('report', '')}")
