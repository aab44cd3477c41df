"""Benchtop's backend: every method as plain functions, usable from Python, the CLI and the GUI.

Nothing under this package imports Qt (a test enforces it). Heavy libraries (torch,
transformers) are imported inside functions so that importing a module stays cheap.
"""
