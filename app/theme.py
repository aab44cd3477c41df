"""A theme that follows the system's light/dark setting (Fusion style, palette-driven)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None:
        return scheme() == Qt.ColorScheme.Dark
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def _dark_palette() -> QPalette:
    p = QPalette()
    base, alt, text, window = QColor(30, 31, 34), QColor(40, 42, 46), QColor(222, 224, 228), QColor(37, 38, 42)
    for role, color in [
        (QPalette.ColorRole.Window, window), (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, alt),
        (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, alt),
        (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.ToolTipBase, alt),
        (QPalette.ColorRole.ToolTipText, text), (QPalette.ColorRole.Highlight, QColor(64, 128, 214)),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)), (QPalette.ColorRole.Link, QColor(110, 170, 255)),
        (QPalette.ColorRole.Mid, QColor(120, 122, 128)), (QPalette.ColorRole.PlaceholderText, QColor(140, 142, 148)),
    ]:
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 122, 128))
    return p


def _light_palette() -> QPalette:
    p = QApplication.style().standardPalette()
    p.setColor(QPalette.ColorRole.Window, QColor(246, 247, 249))
    p.setColor(QPalette.ColorRole.AlternateBase, QColor(238, 241, 245))
    p.setColor(QPalette.ColorRole.Highlight, QColor(46, 110, 200))
    return p


def apply_theme(app: QApplication, mode: str = "system") -> str:
    """Apply ``light``, ``dark`` or ``system``; returns the mode actually applied."""
    app.setStyle("Fusion")
    dark = system_prefers_dark() if mode == "system" else mode == "dark"
    app.setPalette(_dark_palette() if dark else _light_palette())
    try:
        import pyqtgraph as pg

        pg.setConfigOptions(background=(30, 31, 34) if dark else "w",
                            foreground=(222, 224, 228) if dark else (40, 40, 40), antialias=True)
    except ImportError:
        pass
    app.setProperty("benchtop_dark", dark)
    return "dark" if dark else "light"


def is_dark() -> bool:
    app = QApplication.instance()
    return bool(app and app.property("benchtop_dark"))
