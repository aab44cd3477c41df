"""Start, stop, progress with elapsed time and ETA, and a status line: the same in every panel.

The panel decides what a start means (it builds and submits JobSpecs in its slot for
``start_requested``) and tells the controls which runs to follow with :meth:`RunControls.track`;
everything else (progress, stop, the reason of a failure) is done here from the runner's events,
so no panel writes its own variant.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from app.context import AppContext
    from backend.jobs import JobEvent


def format_duration(seconds: float) -> str:
    """``75`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    s = max(0, round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def estimate_eta(elapsed: float, fraction: float | None) -> float | None:
    """Seconds left if progress keeps its average pace (None until there is a pace to read)."""
    if fraction is None or fraction <= 0.01 or elapsed < 1.0:
        return None
    return max(0.0, elapsed * (1.0 - fraction) / fraction)


class RunControls(QWidget):
    """Start / Stop buttons, a progress bar and a status line for the runs a panel starts."""

    start_requested = Signal()
    stop_requested = Signal()
    finished = Signal(str, str)        # run id, status
    all_finished = Signal()

    def __init__(self, context: AppContext, start_text: str = "Start", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self._fractions: dict[str, float | None] = {}
        self._messages: dict[str, str] = {}
        self._errors: dict[str, str] = {}
        self._statuses: dict[str, str] = {}
        self._started_at: float | None = None
        self._report = ""
        self._elapsed = 0.0
        self.start_button = QPushButton(start_text)
        self.start_button.setDefault(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("cancel the running job(s); work done so far is kept where the job allows")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.status = QLabel("Ready.")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setObjectName("run_status")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.start_button, 1)
        row.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        self.start_button.clicked.connect(lambda *_: self.start_requested.emit())
        self.stop_button.clicked.connect(self.stop)
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._render)
        context.runner.event.connect(self._on_event)
        self._set_busy(False)

    # -- what the panel calls -----------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return any(s not in ("succeeded", "failed", "cancelled", "interrupted") for s in self._statuses.values())

    def track(self, run_id: str) -> None:
        """Follow ``run_id`` (call right after submitting it). Several runs make one progress bar."""
        if not self.busy:
            self._fractions.clear()
            self._messages.clear()
            self._errors.clear()
            self._statuses.clear()
            self._started_at = time.monotonic()
            self._report = ""
        self._fractions[run_id] = 0.0
        self._statuses[run_id] = "queued"
        self._set_busy(True)
        self._render()

    def run_ids(self) -> list[str]:
        return list(self._statuses)

    def stop(self) -> None:
        """Cancel every tracked run that is still going."""
        self.stop_requested.emit()
        for rid, status in self._statuses.items():
            if status in ("queued", "running"):
                self.context.runner.cancel(rid)
        if self.busy:
            self.status.setText("Stopping…")

    def set_error(self, text: str) -> None:
        """Show a refusal (bad setting, missing file) that happened before anything was submitted."""
        self.status.setText(f"<span style='color:#d04040'>{_escape(text)}</span>")
        self.status.setToolTip(text)

    def set_message(self, text: str) -> None:
        self.status.setText(_escape(text))
        self.status.setToolTip("")

    def report(self, text: str) -> None:
        """A one-line summary of the result, shown after "Done in …" (panels call it from show_run,
        which runs before the controls hear that the run finished)."""
        self._report = text
        if not self.busy:
            self._render_final()

    # -- events -------------------------------------------------------------------------------
    def _on_event(self, event: JobEvent) -> None:
        rid = event.run_id
        if rid not in self._statuses:
            return
        if event.type == "started":
            self._statuses[rid] = "running"
        elif event.type == "progress":
            frac = event.data.get("fraction")
            if frac is not None:
                self._fractions[rid] = float(frac)
            self._messages[rid] = str(event.data.get("message") or "")
        elif event.type == "error":
            self._errors[rid] = str(event.data.get("message") or "failed")
        elif event.type == "finished":
            status = str(event.data.get("status") or "failed")
            self._statuses[rid] = status
            if status == "succeeded":
                self._fractions[rid] = 1.0
            self.finished.emit(rid, status)
            if not self.busy:
                self._elapsed = time.monotonic() - (self._started_at or time.monotonic())
                self._set_busy(False)
                self._render_final()
                self.all_finished.emit()
                return
        self._render()

    # -- drawing ------------------------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        self.start_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        if busy:
            self._timer.start()
        else:
            self._timer.stop()

    def _fraction(self) -> float | None:
        known = [f for f in self._fractions.values() if f is not None]
        return sum(known) / len(self._fractions) if known and self._fractions else None

    def _render(self) -> None:
        if not self.busy:
            return
        elapsed = time.monotonic() - (self._started_at or time.monotonic())
        frac = self._fraction()
        self.progress.setValue(int(1000 * (frac or 0.0)))
        n = len(self._statuses)
        running = sum(1 for s in self._statuses.values() if s == "running")
        parts = [f"Running {running} of {n} runs…" if n > 1 else ("Running…" if running else "Queued…")]
        if frac is not None:
            parts.append(f"{100 * frac:.0f}%")
        parts.append(f"{format_duration(elapsed)} elapsed")
        eta = estimate_eta(elapsed, frac)
        if eta is not None:
            parts.append(f"about {format_duration(eta)} left")
        msg = next((m for m in reversed(list(self._messages.values())) if m), "")
        text = " · ".join(parts) + (f"\n{msg}" if msg else "")
        self.status.setText(_escape(text))
        self.status.setToolTip("")

    def _render_final(self) -> None:
        elapsed = self._elapsed
        statuses = list(self._statuses.values())
        if not statuses:  # nothing run here (a run opened from the history): the report alone
            self.set_message(self._report)
            return
        failed = [rid for rid, s in self._statuses.items() if s in ("failed", "interrupted")]
        if failed:
            reason = self._errors.get(failed[0]) or self._stored_error(failed[0]) or "no reason was recorded"
            head = "Failed" if len(statuses) == 1 else f"{len(failed)} of {len(statuses)} runs failed"
            self.set_error(f"{head}: {reason}")
            self.progress.setValue(0)
        elif "cancelled" in statuses:
            self.set_message(f"Cancelled after {format_duration(elapsed)}.")
        else:
            self.progress.setValue(1000)
            self.set_message(f"Done in {format_duration(elapsed)}." + (f" {self._report}" if self._report else ""))

    def _stored_error(self, run_id: str) -> str | None:
        try:
            return self.context.workspace.get_run(run_id).error
        except Exception:  # noqa: BLE001 - the status line must render whatever the store says
            return None


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")
