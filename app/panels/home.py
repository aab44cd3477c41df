"""The start panel: what Benchtop is, the workspace, and the demo zoo (build it on first launch)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.panels.base import Panel, register_panel
from app.widgets.run_controls import RunControls
from backend.jobs import JobSpec

INTRO = (
    "<h2>Benchtop</h2>"
    "<p>Run, watch and compare the methods of recent papers on your own models: model merging "
    "(T-Switch, TIES, DARE), delta compression (Delta-DCT), process reward models, test-time "
    "scaling, TTRL, equation discovery and agent replay. Pick a panel on the left. Every job runs "
    "in the background, shows its progress in the <b>Jobs</b> dock and is recorded in the "
    "<b>Run history</b>; the same jobs run headless with <code>python main.py &lt;command&gt;</code>.</p>"
)


def zoo_state(root) -> str:
    """``ready``, ``partial`` or ``missing``; asks the zoo package when it is installed."""
    try:
        from backend.models.zoo import zoo_status
    except ImportError:
        return "missing" if not (root / "manifest.json").exists() else "ready"
    return zoo_status(root)


@register_panel
class HomePanel(Panel):
    panel_id = "home"
    title = "Start"
    description = "Workspace, demo zoo, and what each panel does"
    kinds = ("zoo.build", "demo.*")
    order = 0

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        intro.setMaximumWidth(860)

        zoo_box = QGroupBox("Demo zoo")
        self.zoo_label = QLabel()
        self.zoo_label.setWordWrap(True)
        self.zoo_figures = QLabel()  # the manifest's measured figures, when the zoo is ready
        self.zoo_figures.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.zoo_figures.setStyleSheet("font-family: monospace;")
        # RunControls: progress with elapsed time and ETA, Stop, and the reason when a build fails.
        # (clicked(bool) must not reach build_zoo's ``profile``: the lambdas drop it.)
        self.zoo_controls = RunControls(context, start_text="Build the demo zoo")
        self.zoo_controls.setMaximumWidth(860)
        self.build_button = self.zoo_controls.start_button
        self.zoo_controls.start_requested.connect(lambda *_: self.build_zoo("demo"))
        self.tiny_button = QPushButton("Build the tiny zoo (seconds)")
        self.tiny_button.setToolTip("smaller models trained for fewer steps, so every panel has something to open "
                                    "within seconds; numbers are far weaker than the demo zoo's")
        self.tiny_button.clicked.connect(lambda *_: self.build_zoo("tiny"))
        self.zoo_controls.layout().itemAt(0).layout().insertWidget(1, self.tiny_button)
        self.zoo_controls.all_finished.connect(self.refresh_zoo)
        zl = QVBoxLayout(zoo_box)
        zl.addWidget(self.zoo_label)
        zl.addWidget(self.zoo_figures)
        zl.addWidget(self.zoo_controls)

        check_box = QGroupBox("Check the runner")
        self.check_label = QLabel("Runs a small counting job through the real runner.")
        check_button = QPushButton("Run a demo job")
        check_button.clicked.connect(self.run_demo)
        cl = QHBoxLayout(check_box)
        cl.addWidget(self.check_label, 1)
        cl.addWidget(check_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.addWidget(intro)
        layout.addWidget(zoo_box)
        layout.addWidget(check_box)
        layout.addStretch(1)
        self._zoo_run: str | None = None
        self.refresh_zoo()

    def refresh_zoo(self) -> None:
        root = self.context.zoo_root()
        state = zoo_state(root)
        text = {
            "ready": f"The demo zoo is built in {root}. Panels list its models as <code>zoo:NAME</code>.",
            "partial": f"The demo zoo in {root} is incomplete (an interrupted build); build it again.",
            "missing": "The demo zoo is not built yet. It trains tiny real models (a base model, task "
                       "fine-tunes, a policy, a process reward model and a verifier) on this machine in "
                       "a few minutes, so every panel has something real to work on.",
        }[state]
        self.zoo_label.setText(text)
        figures = ""
        if state == "ready":
            from backend.models.zoo import read_manifest
            from backend.models.zoo.report import format_figures

            manifest = read_manifest(root) or {}
            figures = format_figures(manifest.get("figures", {}))
            if figures:
                figures = f"Measured when it was built ({manifest.get('build_seconds')} s):\n{figures}"
        self.zoo_figures.setText(figures)
        self.zoo_figures.setVisible(bool(figures))
        self.build_button.setText("Rebuild the demo zoo" if state == "ready" else "Build the demo zoo")

    def build_zoo(self, profile: str = "demo") -> str:
        """Build the zoo the panels read (``<workspace>/zoo/demo``) with ``profile``'s sizes."""
        if not isinstance(profile, str):  # a signal's checked flag must never become a profile
            raise TypeError(f"profile must be a name, got {profile!r}")
        spec = JobSpec("zoo.build", {"profile": profile, "force": True},
                       inputs={"root": str(self.context.zoo_root())}, label=f"build the {profile} zoo")
        self._zoo_run = self.submit(spec)
        self.zoo_controls.track(self._zoo_run)
        self.tiny_button.setEnabled(False)
        return self._zoo_run

    def run_demo(self) -> None:
        self.submit(JobSpec("demo.count", {"steps": 20, "delay": 0.05}, label="demo job"))

    def on_event(self, event) -> None:
        if event.run_id == self._zoo_run and event.type == "finished":
            self.tiny_button.setEnabled(True)
            self.refresh_zoo()

    def show_run(self, run) -> None:
        if run.kind == "demo.count":
            self.check_label.setText(f"Demo job {run.id} finished: counted {run.result.get('steps')} steps "
                                     f"(total {run.result.get('total')}).")
        else:
            self.refresh_zoo()
