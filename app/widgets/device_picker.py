"""Device picker: `auto` plus the devices detected on this machine (detected lazily)."""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget


class DevicePicker(QComboBox):
    """Starts with `auto` and `cpu`; call :meth:`detect` (off the startup path) to add GPUs."""

    def __init__(self, initial: str = "auto", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("Device for new jobs (auto prefers a GPU when one is available)")
        self.addItems(["auto", "cpu"])
        if initial not in ("auto", "cpu"):
            self.addItem(initial)
        self.setCurrentText(initial)

    def detect(self) -> list[str]:
        from backend.devices import available_devices

        devices = available_devices()
        for d in devices:
            if self.findText(d) < 0:
                self.addItem(d)
        return devices

    def device(self) -> str:
        return self.currentText()
