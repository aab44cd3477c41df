"""Agent replay panel (package): ``panel`` holds the panel, ``stepview`` the screenshot view."""
from app.panels.replay.panel import ReplayPanel  # noqa: F401 - registers the panel
