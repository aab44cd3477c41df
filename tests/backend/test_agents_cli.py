"""``replay summarize`` and ``replay export`` through main.py's CLI."""
from __future__ import annotations

import json
import re
from pathlib import Path

from backend.cli import main as cli

SB = Path(__file__).resolve().parents[2] / "resources/sample_runs/scienceboard/scripted_a11y-vm-screenshot+a11y_tree"


def test_summarize_text_and_json(capsys):
    assert cli(["replay", "summarize", str(SB)]) == 0
    out = capsys.readouterr().out
    assert "7/8 = 87.50%" in out and "mean of domain rates): 90.00%" in out and "missing" in out
    assert cli(["replay", "summarize", str(SB), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["overall"]["crashed"] == 1 and len(data["tasks"]) == 8


def test_export_html_embeds_images_and_never_writes_inputs(tmp_path, capsys):
    before = {p: p.stat().st_mtime_ns for p in SB.rglob("*")}
    out = tmp_path / "report.html"
    assert cli(["replay", "export", str(SB), "--html", str(out)]) == 0
    text = out.read_text()
    n_png = len([p for p in SB.rglob("*.png")])
    assert len(re.findall(r'href="data:image/png;base64,', text)) == n_png
    assert "<circle" in text and "lambda state" in text and "TimeoutError" in text
    assert "push-button “7”" in text  # the a11y element under a click
    assert {p: p.stat().st_mtime_ns for p in SB.rglob("*")} == before
    assert cli(["replay", "export", str(SB), "--html", str(tmp_path / "c.html"), "--images", "copy"]) == 0
    assert len(list((tmp_path / "c_files").glob("*.png"))) == n_png
    assert cli(["replay", "export", str(SB), "--html", str(SB / "x.html")]) == 2
    assert "inputs are never modified" in capsys.readouterr().err


def test_bad_rundir_exits_2_with_message(tmp_path, capsys):
    assert cli(["replay", "summarize", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
