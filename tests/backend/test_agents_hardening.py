"""Replay input that used to hurt (issue #16): huge action lines, links out of the run folder."""
from __future__ import annotations

import ast
import base64
import shutil
import time
from pathlib import Path

import pytest

from backend.agents.actions import parse_action
from backend.agents.reader import open_run
from backend.agents.report import export_html

SB = (Path(__file__).resolve().parents[2] / "resources" / "sample_runs" / "scienceboard"
      / "scripted_a11y-vm-screenshot+a11y_tree")


def test_huge_action_line_parses_in_linear_time(monkeypatch):
    def quadratic(*a, **k):
        raise AssertionError("ast.get_source_segment re-splits the whole code for every call")

    monkeypatch.setattr(ast, "get_source_segment", quadratic)
    code = "pyautogui.write('" + "x" * 20_000_000 + "'); pyautogui.click(1, 2); pyautogui.press('é')"
    t = time.monotonic()
    acts = parse_action(code)
    assert time.monotonic() - t < 60  # minutes before; about a second here
    assert [a.kind for a in acts] == ["type", "click", "key"]
    assert acts[1].source == "pyautogui.click(1, 2)" and acts[2].source == "pyautogui.press('é')"  # byte offsets
    many = parse_action("pyautogui.click(10, 20); " * 20000)
    assert len(many) == 20000 and all(a.source == "pyautogui.click(10, 20)" for a in many)


def test_loop_marks_and_multi_line_sources():
    code = ("for i in range(3):\n    pyautogui.click(1, 2)\npyautogui.dragTo(\n  3, 4)\n"
            "while x:\n  pyautogui.press('a')\n")
    acts = parse_action(code)
    assert [(a.source, a.note) for a in acts] == [("pyautogui.click(1, 2)", "inside a loop"),
                                                   ("pyautogui.dragTo(\n  3, 4)", ""),
                                                   ("pyautogui.press('a')", "inside a loop")]
    assert parse_action("pyautogui.click(1, 2)\x00")[0].kind == "code"  # NUL byte: not parseable, no crash


def test_links_out_of_the_run_folder_are_never_embedded_or_copied(tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(SB, run_dir)
    secret = tmp_path / "secret.png"
    pngs = sorted(run_dir.rglob("*.png"))
    secret.write_bytes(pngs[0].read_bytes() + b"TOP-SECRET-KEY-MATERIAL")
    victim = pngs[1]
    victim.unlink()
    victim.symlink_to(secret)
    inner = pngs[2]
    inner.unlink()
    inner.symlink_to(pngs[0])                         # a link inside the run folder is fine
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    trees = sorted(run_dir.rglob("step_*.txt"))         # the accessibility trees
    for i, tree in enumerate(trees):
        copy = elsewhere / f"{i}.txt"
        copy.write_text(tree.read_text())
        tree.unlink()
        tree.symlink_to(copy)
    run = open_run(run_dir)
    text = export_html(run, tmp_path / "r.html").read_text()
    secret_b64 = base64.b64encode(secret.read_bytes()).decode()
    assert secret_b64 not in text
    assert "push-button “7”" not in text                # the element names came from trees outside
    assert f"{trees[0].name} links outside the run folder; left out" in text
    assert f"{victim.name} links outside the run folder; left out" in text
    assert len(text.split('href="data:image/png;base64,')) - 1 == len(pngs) - 1
    export_html(run, tmp_path / "c.html", images="copy")
    copied = list((tmp_path / "c_files").iterdir())
    assert len(copied) == len(pngs) - 1
    assert all(b"TOP-SECRET" not in p.read_bytes() for p in copied)


@pytest.mark.parametrize("images", ["embed", "copy"])
def test_link_loop_is_left_out(tmp_path, images):
    run_dir = tmp_path / "run"
    shutil.copytree(SB, run_dir)
    png = min(run_dir.rglob("*.png"))
    png.unlink()
    png.symlink_to(png)                                # a loop: resolve() fails
    text = export_html(open_run(run_dir), tmp_path / "r.html", images=images).read_text()
    assert f"{png.name} links outside the run folder" in text
