"""Bridges the backend Runner's thread-side events to Qt signals on the GUI thread."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from backend.jobs import JobEvent, JobHandle, JobSpec, Runner


class QtRunner(QObject):
    """Owns the backend Runner for the GUI.

    ``event`` is emitted from worker threads; Qt queues it to receivers in the GUI thread, so
    slots connected to it may touch widgets.
    """

    event = Signal(object)  # JobEvent
    submitted = Signal(object)  # JobHandle

    def __init__(self, runner: Runner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self._unsubscribe = runner.subscribe(self.event.emit)

    def submit(self, spec: JobSpec) -> JobHandle:
        handle = self.runner.submit(spec)
        self.submitted.emit(handle)
        return handle

    def cancel(self, run_id: str) -> None:
        self.runner.cancel(run_id)

    def handle(self, run_id: str) -> JobHandle | None:
        return self.runner.handle(run_id)

    def shutdown(self, timeout: float = 10.0) -> None:
        self._unsubscribe()
        self.runner.shutdown(cancel=True, timeout=timeout)


def format_event_line(event: JobEvent) -> str | None:
    """A one-line log rendering of an event (None for events not worth a line)."""
    d = event.data
    if event.type == "log":
        return d.get("line", "")
    if event.type == "started":
        return f"started on {d.get('device')}"
    if event.type == "error":
        return f"error: {d.get('message')}"
    if event.type == "finished":
        return f"finished: {d.get('status')}"
    if event.type == "artifact":
        return f"artifact {d.get('name')}: {d.get('path')}"
    return None
