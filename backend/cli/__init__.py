"""The headless command line: ``python main.py [--workspace DIR] <command> ...``.

Every backend package may add commands in ``backend/<package>/cli.py`` by defining
``register(subparsers)``; they are found here, so main.py never lists them by hand. Commands
build a JobSpec and run it through the same Runner the GUI uses (see :func:`run_job`).
"""
from backend.cli.common import add_json_flag, open_workspace, print_json, run_job
from backend.cli.parser import build_parser, main

__all__ = ["add_json_flag", "build_parser", "main", "open_workspace", "print_json", "run_job"]
