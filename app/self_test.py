"""``python main.py --self-test``: build the window offscreen, run one real job, report.

Used by the packaged app's smoke test: any exception (in the window, the job or a panel) makes
it exit non-zero with the error printed.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication


def run_self_test(workspace: str | None = None, fail: bool = False, timeout: float = 60.0) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.application import create_context, make_app

    app = make_app()
    app.setProperty("benchtop_no_dialogs", True)
    from app.error_dialog import recorded_errors
    from app.main_window import MainWindow
    from app.panels.base import broken_panels
    from app.theme import apply_theme
    from backend.jobs import JobSpec

    ws_dir = workspace or tempfile.mkdtemp(prefix="benchtop-selftest-")
    ctx = create_context(ws_dir, settings_file=os.path.join(ws_dir, "selftest-settings.ini"))
    apply_theme(app, "light")
    window = MainWindow(ctx, probe_devices=False)
    window.show()
    app.processEvents()
    for pid in window.panel_ids():  # every panel must build
        window.show_panel(pid)
        app.processEvents()
    params = {"steps": 5, "delay": 0.01}
    if fail:
        params["fail_at"] = 2
    handle = ctx.runner.submit(JobSpec("demo.count", params, device="cpu", label="self-test"))
    deadline = time.monotonic() + timeout
    while not handle.done and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()
    problems: list[str] = []
    if not handle.done:
        problems.append("the self-test job did not finish in time")
    elif handle.status != "succeeded":
        problems.append(f"the self-test job {handle.status}: {handle.error}\n{handle.traceback or ''}")
    problems += [f"panel module {m} failed to import:\n{tb}" for m, tb in broken_panels().items()]
    checks, warnings = runtime_checks(app)
    problems += checks
    problems += [f"{s}\n{d}" for s, d in recorded_errors()]
    window.setProperty("benchtop_force_close", True)
    window.close()
    ctx.workspace.close()
    if problems:
        print("self-test FAILED:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"self-test passed: window built with {len(window.panel_ids())} panels; job {handle.run_id} succeeded; "
          "Qt plugins, torch, transformers and the sandbox checked")
    return 0


def runtime_checks(app: QApplication) -> tuple[list[str], list[str]]:
    """What a packaged app most often lacks: Qt's platform plugins, torch's kernels, transformers'
    lazily imported model classes, and a working sandbox. Returns (problems, warnings)."""
    import traceback

    from PySide6.QtCore import QLibraryInfo

    problems: list[str] = []
    warnings: list[str] = []
    plugins = os.path.join(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath), "platforms")
    have = sorted(os.listdir(plugins)) if os.path.isdir(plugins) else []
    for name in ("libqxcb.so", "libqoffscreen.so"):
        if sys.platform.startswith("linux") and name not in have:
            problems.append(f"Qt platform plugin {name} is missing from {plugins} (found: {', '.join(have) or 'none'})")
    try:
        import torch

        if float((torch.ones(8, 8) @ torch.ones(8, 8)).sum()) != 512.0:
            problems.append("torch computed a wrong matrix product")
    except Exception:  # noqa: BLE001 - reported, not raised: the self-test lists every problem
        problems.append("torch does not work:\n" + traceback.format_exc())
    try:
        import torch
        from transformers import AutoModelForCausalLM, LlamaConfig

        cfg = LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                          num_attention_heads=2, num_key_value_heads=2)
        model = AutoModelForCausalLM.from_config(cfg)
        logits = model(torch.tensor([[1, 2, 3]])).logits
        if tuple(logits.shape) != (1, 3, 32):
            problems.append(f"transformers' Llama gave logits of shape {tuple(logits.shape)}")
    except Exception:  # noqa: BLE001
        problems.append("transformers' lazily imported model classes do not load:\n" + traceback.format_exc())
    try:
        from backend.sandbox import run_python

        res = run_python("print(6 * 7)", timeout=20)
        if res.status == "refused" or "refus" in (res.reason or "").lower():
            warnings.append(f"the sandbox refuses to run code on this machine: {res.reason}")
        elif res.stdout.strip() != "42":
            problems.append(f"the sandbox did not run a snippet: {res.status}: {res.reason}\n{res.stderr[-2000:]}")
    except Exception:  # noqa: BLE001
        problems.append("the sandbox failed:\n" + traceback.format_exc())
    return problems, warnings
