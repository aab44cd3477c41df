"""The PRM panel (``app.panels.prm.panel``); importing the package registers it."""
from app.panels.prm.panel import PRMPanel

__all__ = ["PRMPanel"]
