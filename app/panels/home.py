"""The start panel: what Benchtop is, the workspace, and the demo zoo (build it on first launch)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.panels.base import Panel, register_panel
from app.widgets.params_form import ParamsForm
from app.widgets.run_controls import RunControls
from backend.jobs import JobSpec
from backend.models.params import ZooBuildParams

if TYPE_CHECKING:
    from app.context import AppContext
    from backend.workspace import RunRecord

INTRO = (
    "<h2>Benchtop</h2>"
    "<p>Run, watch and compare the methods of recent papers on your own models: model merging "
    "(T-Switch, TIES, DARE), delta compression (Delta-DCT), process reward models, test-time "
    "scaling, TTRL, equation discovery and agent replay. Pick a panel on the left. Every job runs "
    "in the background, shows its progress in the <b>Jobs</b> dock and is recorded in the "
    "<b>Run history</b>; the same jobs run headless with <code>python main.py &lt;command&gt;</code>.</p>"
)


def zoo_state(root: Path) -> str:
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

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
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
        self.zoo_form = ParamsForm(ZooBuildParams, parent=self)   # profile; seed and rebuild under Advanced
        self.zoo_form.changed.connect(self.refresh_zoo)
        self.zoo_controls = RunControls(context, start_text="Build the demo zoo", parent=self)
        self.zoo_controls.start_requested.connect(self.build_zoo)
        self.zoo_controls.all_finished.connect(self.refresh_zoo)
        self.build_button = self.zoo_controls.start_button
        zl = QVBoxLayout(zoo_box)
        zl.addWidget(self.zoo_label)
        zl.addWidget(self.zoo_figures)
        settings = QHBoxLayout()
        settings.addWidget(self.zoo_form)
        settings.addStretch(1)
        zl.addLayout(settings)
        self.zoo_controls.setMaximumWidth(560)
        zl.addWidget(self.zoo_controls)

        check_box = QGroupBox("Check the runner")
        self.check_label = QLabel("Runs a small counting job through the real runner.")
        self.check_controls = RunControls(context, start_text="Run a demo job", parent=self)
        self.check_controls.start_requested.connect(self.run_demo)
        cl = QVBoxLayout(check_box)
        cl.addWidget(self.check_label)
        self.check_controls.setMaximumWidth(560)
        cl.addWidget(self.check_controls)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.addWidget(intro)
        layout.addWidget(zoo_box)
        layout.addWidget(check_box)
        layout.addStretch(1)
        self.refresh_zoo()

    def profile(self) -> str:
        return str(self.zoo_form.values()["profile"])

    def refresh_zoo(self) -> None:
        profile = self.profile()
        root = self.context.zoo_root(profile)
        state = zoo_state(root)
        what = "demo zoo" if profile == "demo" else f"{profile} zoo"
        text = {
            "ready": f"The {what} is built in {root}. Panels list its models as <code>zoo:NAME</code>.",
            "partial": f"The {what} in {root} is incomplete (an interrupted build); build it again.",
            "missing": f"The {what} is not built yet. It trains tiny real models (a base model, task "
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
        if not self.zoo_controls.busy:
            self.build_button.setText(f"Rebuild the {what}" if state == "ready" else f"Build the {what}")

    def build_zoo(self, profile: str | None = None) -> str | None:
        if profile is not None:
            self.zoo_form.set_values({"profile": profile})
        try:
            p = self.zoo_form.params()
        except ValueError as exc:
            self.zoo_controls.set_error(str(exc))
            return None
        run_id = self.submit(JobSpec("zoo.build", p.changed(), label=f"build {p.profile} zoo"))
        self.zoo_controls.track(run_id)
        return run_id

    def run_demo(self) -> str:
        run_id = self.submit(JobSpec("demo.count", {"steps": 20, "delay": 0.05}, label="demo job"))
        self.check_controls.track(run_id)
        return run_id

    def show_run(self, run: RunRecord) -> None:
        if run.kind == "demo.count":
            self.check_label.setText(f"Demo job {run.id} finished: counted {run.result.get('steps')} steps "
                                     f"(total {run.result.get('total')}).")
        else:
            self.refresh_zoo()
