"""What every panel is handed: the workspace, the runner, settings and the chosen device."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings

from app.runner_bridge import QtRunner


class AppContext:
    """Shared state of one window. Panels read from it; they never own jobs themselves."""

    def __init__(self, workspace, runner: QtRunner, settings: QSettings) -> None:
        self.workspace = workspace
        self.runner = runner
        self.settings = settings
        self._device_getter: Callable[[], str] = lambda: "auto"

    def set_device_getter(self, getter: Callable[[], str]) -> None:
        self._device_getter = getter

    def device(self) -> str:
        """The device the user picked in the toolbar (``auto``, ``cpu``, ``cuda:0`` …)."""
        return self._device_getter()

    def zoo_root(self, profile: str = "demo") -> Path:
        """Where this workspace's demo zoo lives (built or not)."""
        return Path(self.workspace.root) / "zoo" / profile
