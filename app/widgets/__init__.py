"""Reusable widgets shared by panels and the main window."""
