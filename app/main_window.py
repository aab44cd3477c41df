"""The main window: a panel list, the current panel, and docks for jobs, log and history."""
from __future__ import annotations

import traceback
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QWidget,
)

from app.context import AppContext
from app.panels.base import Panel, broken_panels, discover_panels, panel_for_kind
from app.widgets.device_picker import DevicePicker
from app.widgets.history_dock import HistoryView
from app.widgets.jobs_dock import JobsView
from app.widgets.log_dock import LogView
from app.widgets.run_view import RunDialog
from backend.resources import docs_path

DOCS_DIR = docs_path("")  # beside the code in a checkout, inside the packaged app's folder
# a panel's page under docs/ (a panel class may name its own with ``docs_page``)
DOCS_PAGES = {"home": "zoo.md", "merging": "merging.md", "compression": "compression.md", "prm": "prm.md",
              "tts": "tts.md", "ttrl": "ttrl.md", "equations": "equations.md", "replay": "replay.md",
              "positions": "fope.md", "bnn": "bnn.md", "retrieval": "retrieval.md"}


def app_version() -> str:
    """The installed package's version (the source tree's or bundle's pyproject otherwise)."""
    from backend.resources import version

    return version()


def docs_page(cls) -> Path | None:
    name = getattr(cls, "docs_page", None) or DOCS_PAGES.get(cls.panel_id)
    return DOCS_DIR / name if name else None


class _DeviceProbe(QThread):
    """Detects GPUs off the GUI thread (it imports torch, which takes a while)."""

    found = Signal(list)

    def run(self) -> None:
        try:
            from backend.devices import available_devices

            self.found.emit(available_devices())
        except Exception:  # noqa: BLE001 - no torch: CPU only
            self.found.emit(["cpu"])


class MainWindow(QMainWindow):
    def __init__(self, context: AppContext, probe_devices: bool = True) -> None:
        super().__init__()
        self.context = context
        self.setWindowTitle(f"Benchtop — {context.workspace.root}")
        self.resize(1360, 860)
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is not None and (screen.width() < 1360 or screen.height() < 860):
            self.resize(min(1360, screen.width()), min(860, screen.height()))  # e.g. a 1280x720 display
        self._panel_classes = discover_panels()
        self._panels: dict[str, Panel] = {}
        self._holders: dict[str, QScrollArea] = {}  # each panel scrolls rather than crushing its rows

        self.panel_list = QListWidget()
        self.panel_list.setObjectName("panelList")
        self.panel_list.setMinimumWidth(170)
        self.panel_list.setMaximumWidth(240)
        self.stack = QStackedWidget()
        for cls in self._panel_classes:
            item = QListWidgetItem(cls.title)
            item.setData(Qt.ItemDataRole.UserRole, cls.panel_id)
            item.setToolTip(cls.description or cls.title)
            self.panel_list.addItem(item)
        for module, tb in broken_panels().items():
            item = QListWidgetItem(f"⚠ {module.rsplit('.', 1)[-1]} (failed to load)")
            item.setData(Qt.ItemDataRole.UserRole, f"broken:{module}")
            item.setToolTip(tb.strip().splitlines()[-1])
            self.panel_list.addItem(item)
        self.panel_list.currentItemChanged.connect(self._on_panel_selected)
        splitter = QSplitter()
        splitter.addWidget(self.panel_list)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([200, 1160])
        self.setCentralWidget(splitter)

        self.jobs_view = JobsView(context.runner)
        self.jobs_view.open_run.connect(self.open_run)
        self.log_view = LogView(context.runner)
        self.history_view = HistoryView(context.workspace, context.runner)
        self.history_view.open_run.connect(self.open_run)
        self.history_view.rerun_run.connect(self.rerun)
        self.jobs_dock = self._dock("Jobs", self.jobs_view, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.log_dock = self._dock("Log", self.log_view, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.history_dock = self._dock("Run history", self.history_view, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.jobs_dock, self.log_dock)
        self.tabifyDockWidget(self.log_dock, self.history_dock)
        self.jobs_dock.raise_()
        QTimer.singleShot(0, lambda: self.resizeDocks([self.jobs_dock], [140], Qt.Orientation.Vertical))
        self.panel_list.setStyleSheet("QListWidget#panelList { font-size: 11pt; }"
                                      "QListWidget#panelList::item { padding: 7px 10px; }")

        self.device_picker = DevicePicker(context.settings.value("device", "auto"))
        self.device_picker.currentTextChanged.connect(lambda d: context.settings.setValue("device", d))
        context.set_device_getter(self.device_picker.device)
        self._build_toolbar_and_menus()
        context.runner.submitted.connect(lambda _h: self.jobs_dock.raise_())

        self._restore_settings()
        if context.workspace.recovery_message:
            QTimer.singleShot(0, lambda: self.log_view.append_line("workspace: " + context.workspace.recovery_message))
            QTimer.singleShot(50, self._show_recovery_message)
        self._probe = None
        if probe_devices:
            QTimer.singleShot(1500, self._start_device_probe)

    # -- construction -----------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_toolbar_and_menus(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.addWidget(QLabel(" Device: "))
        tb.addWidget(self.device_picker)
        tb.addSeparator()
        ws = QLabel(f"  Workspace: {self.context.workspace.root}")
        ws.setStyleSheet("color: palette(mid);")
        tb.addWidget(ws)
        self.addToolBar(tb)

        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        for dock in (self.jobs_dock, self.log_dock, self.history_dock):
            view_menu.addAction(dock.toggleViewAction())
        theme_menu = view_menu.addMenu("Theme")
        self.theme_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        group.setExclusive(True)
        current = str(self.context.settings.value("theme", "system"))
        for mode in ("system", "light", "dark"):
            act = QAction(mode.capitalize(), self, checkable=True)
            act.setChecked(mode == current)
            act.triggered.connect(lambda _=False, m=mode: self._set_theme(m))
            group.addAction(act)
            theme_menu.addAction(act)
            self.theme_actions[mode] = act
        help_menu = self.menuBar().addMenu("&Help")
        here = QAction("Documentation of this panel", self)
        here.setShortcut(QKeySequence.StandardKey.HelpContents)
        here.triggered.connect(lambda: self.open_docs(self.current_panel_id()))
        help_menu.addAction(here)
        pages = help_menu.addMenu("Documentation")
        self.docs_actions: dict[str, QAction] = {}
        for cls in self._panel_classes:
            page = docs_page(cls)
            if page is not None:
                act = pages.addAction(f"{cls.title} — docs/{page.name}")
                act.triggered.connect(lambda _=False, pid=cls.panel_id: self.open_docs(pid))
                self.docs_actions[cls.panel_id] = act
        arch = pages.addAction("How Benchtop fits together — docs/architecture.md")
        arch.triggered.connect(lambda: self._open_file(DOCS_DIR / "architecture.md"))
        help_menu.addSeparator()
        about = QAction("&About Benchtop", self)
        about.triggered.connect(lambda: QMessageBox.about(self, "About Benchtop", self.about_text()))
        help_menu.addAction(about)

    def about_text(self) -> str:
        import platform

        import pyqtgraph
        import PySide6

        return (f"<b>Benchtop {app_version()}</b><br>Run, watch and compare recent ML methods on your own "
                f"models and GPUs.<br><br>Workspace: {self.context.workspace.root}<br>"
                f"Python {platform.python_version()} · PySide6 {PySide6.__version__} · "
                f"pyqtgraph {pyqtgraph.__version__}")

    def current_panel_id(self) -> str:
        item = self.panel_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else "home"

    def open_docs(self, panel_id: str) -> Path | None:
        """Open the docs page of ``panel_id`` in the system's viewer; returns the page."""
        cls = next((c for c in self._panel_classes if c.panel_id == panel_id), None)
        page = docs_page(cls) if cls is not None else None
        return self._open_file(page or DOCS_DIR / "architecture.md")

    def _open_file(self, page: Path) -> Path | None:
        from PySide6.QtCore import QUrl
        from PySide6.QtWidgets import QApplication

        if not page.is_file():
            self.log_view.append_line(f"help: {page} is not installed with this copy of Benchtop")
            return None
        if not QApplication.instance().property("benchtop_no_dialogs"):
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(page)))
        return page

    def _set_theme(self, mode: str) -> None:
        """Switch theme and repaint what does not follow the palette by itself: style sheets, plot
        backgrounds and axes, rich text."""
        from PySide6.QtWidgets import QApplication

        from app.theme import apply_theme
        from app.widgets.plots import restyle_plots

        app = QApplication.instance()
        apply_theme(app, mode)
        self.context.settings.setValue("theme", mode)
        if mode in self.theme_actions:
            self.theme_actions[mode].setChecked(True)
        for widget in app.allWidgets():
            widget.setPalette(app.palette())
            if widget.styleSheet():
                widget.setStyleSheet(widget.styleSheet())  # re-resolves palette(...) colours
        restyle_plots(self)
        for widget in app.allWidgets():
            widget.update()

    def _start_device_probe(self) -> None:
        self._probe = _DeviceProbe(self)
        self._probe.found.connect(self._devices_found)
        self._probe.start()

    def _devices_found(self, devices: list) -> None:
        for d in devices:
            if self.device_picker.findText(d) < 0:
                self.device_picker.addItem(d)

    # -- panels -----------------------------------------------------------------------------
    def panel_ids(self) -> list[str]:
        return [c.panel_id for c in self._panel_classes]

    def panel(self, panel_id: str) -> Panel:
        """The panel with this id, built on first use (keeps start-up fast)."""
        if panel_id not in self._panels:
            cls = next(c for c in self._panel_classes if c.panel_id == panel_id)
            try:
                widget = cls(self.context)
            except Exception:  # noqa: BLE001
                from app.error_dialog import report_exception

                details = traceback.format_exc()
                report_exception(f"The panel '{cls.title}' could not be built", details, self)
                widget = QPlainTextEdit(details)
                widget.setReadOnly(True)
            self._panels[panel_id] = widget
            holder = QScrollArea()
            holder.setWidgetResizable(True)
            holder.setFrameShape(QFrame.Shape.NoFrame)
            holder.setWidget(widget)
            self._holders[panel_id] = holder
            self.stack.addWidget(holder)
        return self._panels[panel_id]

    def current_panel(self) -> QWidget | None:
        holder = self.stack.currentWidget()
        return holder.widget() if isinstance(holder, QScrollArea) else holder

    def show_panel(self, panel_id: str) -> Panel:
        for i in range(self.panel_list.count()):
            if self.panel_list.item(i).data(Qt.ItemDataRole.UserRole) == panel_id:
                self.panel_list.setCurrentRow(i)
                break
        return self.panel(panel_id)

    def _on_panel_selected(self, item: QListWidgetItem | None, _prev: QListWidgetItem | None = None) -> None:
        if item is None:
            return
        pid = item.data(Qt.ItemDataRole.UserRole)
        if pid.startswith("broken:"):
            text = QPlainTextEdit(broken_panels().get(pid[7:], ""))
            text.setReadOnly(True)
            self.stack.addWidget(text)
            self.stack.setCurrentWidget(text)
            return
        self.panel(pid)
        self.stack.setCurrentWidget(self._holders[pid])
        self.context.settings.setValue("last_panel", pid)

    def open_run(self, run_id: str) -> None:
        """Show a run (past or finished) in the panel that owns its kind."""
        try:
            run = self.context.workspace.get_run(run_id)
        except KeyError as exc:
            QMessageBox.warning(self, "Run not found", str(exc.args[0]))
            return
        cls = panel_for_kind(run.kind)
        panel = self.show_panel(cls.panel_id) if cls is not None else None
        if isinstance(panel, Panel):
            try:  # the form shows the settings that produced the run next to its result
                panel.restore_settings(run)
            except Exception:  # noqa: BLE001
                self.log_view.append_line(f"could not restore the settings of {run_id}: "
                                          f"{traceback.format_exc().strip().splitlines()[-1]}")
        if panel is None or run.status != "succeeded":
            RunDialog(run, self.context.workspace.metrics(run.id), self).show()
            return
        try:
            from app.widgets.plots import mark_stale

            mark_stale(panel, False)
            panel.show_run(run)
        except Exception:  # noqa: BLE001
            from app.error_dialog import report_exception

            report_exception(f"Could not show run {run_id}", traceback.format_exc(), self)

    def rerun(self, run_id: str) -> str | None:
        """Run a past run again with its settings, in (and followed by) the panel that owns its kind."""
        try:
            run = self.context.workspace.get_run(run_id)
        except KeyError as exc:
            QMessageBox.warning(self, "Run not found", str(exc.args[0]))
            return None
        cls = panel_for_kind(run.kind)
        if cls is None:
            from backend.jobs import JobSpec

            return self.context.runner.submit(JobSpec.from_dict(run.spec.to_dict())).run_id
        panel = self.show_panel(cls.panel_id)
        return panel.rerun(run) if isinstance(panel, Panel) else None

    # -- settings ---------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.context.settings
        geometry = s.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = s.value("window_state")
        if isinstance(state, QByteArray):
            QTimer.singleShot(1, lambda: self.restoreState(state))  # after the default dock sizes
        last = s.value("last_panel", "")
        ids = self.panel_ids()
        if last in ids:
            self.show_panel(last)
        elif ids:
            self.panel_list.setCurrentRow(0)

    def closeEvent(self, event) -> None:
        s = self.context.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("window_state", self.saveState())
        active = self.context.runner.runner.active()
        if active and not self.property("benchtop_force_close"):
            answer = QMessageBox.question(
                self, "Jobs still running",
                f"{len(active)} job(s) are still running. Cancel them and quit?")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.history_view.stop()
        self.context.runner.shutdown(timeout=5.0)
        if self._probe is not None:
            self._probe.wait(3000)
        super().closeEvent(event)

    def _show_recovery_message(self) -> None:
        from PySide6.QtWidgets import QApplication

        if QApplication.instance().property("benchtop_no_dialogs"):
            return
        QMessageBox.warning(self, "Workspace recovered", self.context.workspace.recovery_message)
