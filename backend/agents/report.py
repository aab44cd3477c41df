"""A self-contained HTML report of a run: aggregates, a bar chart, and every task's steps with
the screenshot the agent saw, its action drawn over it, the element under the click, the model
response and the task's checks (lambdas shown as text, never evaluated).

Images are embedded as base64 (one file to send) or copied into ``<name>_files/`` beside the
report; both are written atomically so a failed export leaves nothing half-written. A
screenshot or accessibility tree that is a symbolic link resolving outside the run folder is
never read, embedded or copied (a shared run folder must not leak ``~/.ssh/id_rsa`` named
``step_1.png``); the report says which file was left out.
"""
from __future__ import annotations

import base64
import html
import json
import shutil
import struct
from pathlib import Path
from typing import Any

from backend.agents.a11y import element_at, read_a11y
from backend.agents.aggregate import aggregate, pct
from backend.agents.model import Action, Run, Step, Task
from backend.workspace.atomic import atomic_dir, atomic_write_text

STATUS_COLOR = {"pass": "#2e7d32", "partial": "#f9a825", "fail": "#c62828", "crashed": "#6a1b9a",
                "skipped": "#757575"}
CSS = """body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f2f2f2}td:first-child{text-align:left}.st{color:#fff;border-radius:3px;padding:1px 6px}
.task{border-top:2px solid #999;margin-top:24px}.step{display:flex;gap:16px;margin:12px 0}
.step svg{border:1px solid #aaa;flex:none}pre{white-space:pre-wrap;background:#f7f7f7;padding:6px;margin:4px 0;
font-size:12px;max-height:240px;overflow:auto}.warn{color:#b71c1c}.meta{color:#555}"""


def png_size(path: Path) -> tuple[int, int] | None:
    """Width and height from a PNG header (no image library needed)."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def _esc(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _status(s: str) -> str:
    return f'<span class="st" style="background:{STATUS_COLOR.get(s, "#444")}">{s}</span>'


def _bar_chart(rows: list[tuple[str, float | None]], title: str) -> str:
    w, bar_h, label_w = 560, 22, 140
    parts = [f'<svg width="{w}" height="{bar_h * len(rows) + 30}" role="img"><title>{_esc(title)}</title>']
    for i, (label, v) in enumerate(rows):
        y = 20 + i * bar_h
        length = (w - label_w - 70) * (v or 0)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_esc(label)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{bar_h - 6}" fill="#1565c0"/>'
                     f'<text x="{label_w + length + 4:.1f}" y="{y + 15}">{pct(v)}</text>')
    parts.append(f'<text x="0" y="12" font-weight="bold">{_esc(title)}</text></svg>')
    return "".join(parts)


def overlay_svg(actions: list[Action], w: int, h: int) -> str:
    """SVG shapes for the actions: circle at clicks, arrow for drags, chevrons for scrolls, text labels."""
    out = []
    for a in actions:
        p = a.to_pixels(w, h)
        if a.kind == "drag" and p and a.x0 is not None and a.y0 is not None:
            x0, y0 = (a.x0 * w, a.y0 * h) if a.coords == "relative" else (a.x0, a.y0)
            out.append(f'<line x1="{x0:.0f}" y1="{y0:.0f}" x2="{p[0]:.0f}" y2="{p[1]:.0f}" stroke="#ff6f00" '
                       f'stroke-width="3" marker-end="url(#arr)"/>')
        elif a.kind in ("scroll", "hscroll") and p:
            up = (a.amount or 0) > 0
            dy = -14 if up else 14
            out.append(f'<path d="M{p[0] - 10:.0f},{p[1]:.0f} l10,{dy} l10,{-dy}" fill="none" stroke="#00838f" '
                       f'stroke-width="3"/>')
        elif p:
            r = 9 if a.kind != "move" else 5
            out.append(f'<circle cx="{p[0]:.0f}" cy="{p[1]:.0f}" r="{r}" fill="none" stroke="#e53935" '
                       f'stroke-width="3"/><circle cx="{p[0]:.0f}" cy="{p[1]:.0f}" r="2" fill="#e53935"/>')
        if a.kind == "type" and a.text:
            out.append(f'<text x="6" y="{h - 8}" fill="#fff" stroke="#000" stroke-width="0.6" font-size="14" '
                       f'font-weight="bold">⌨ {_esc(a.text[:60])}</text>')
    return "".join(out)


def inside_run(path: Path | None, root: Path | None) -> bool:
    """Whether ``path`` (after following links) lies inside the run folder ``root``."""
    if path is None or root is None:
        return path is not None
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a link loop
        return False


class _Images:
    def __init__(self, mode: str, folder: Path | None, prefix: str, root: Path | None = None) -> None:
        self.mode, self.folder, self.prefix, self.n, self.root = mode, folder, prefix, 0, root

    def src(self, path: Path) -> str | None:
        if self.mode == "none":
            return None
        if self.mode == "embed":
            return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
        if self.folder is None:
            raise ValueError(f"image mode {self.mode!r} needs a folder to copy into")
        self.n += 1
        name = f"{self.n:05d}_{path.name.replace('@', '_')}"
        shutil.copyfile(path, self.folder / name)
        return f"{self.prefix}/{name}"


def _step_html(step: Step, images: _Images) -> str:
    shot = step.observation
    parts = ['<div class="step">']
    outside = [p for p in (shot, step.a11y) if p is not None and not inside_run(p, images.root)]
    for p in outside:
        parts.append(f'<div class="warn">{_esc(p.name)} links outside the run folder; left out</div>')
    if shot in outside:
        shot = None
    a11y = None if step.a11y in outside else step.a11y
    size = png_size(shot) if shot else None
    if shot and size and (src := images.src(shot)):
        w, h = size
        scale = min(1.0, 480 / w)
        parts.append(f'<svg width="{w * scale:.0f}" height="{h * scale:.0f}" viewBox="0 0 {w} {h}">'
                     '<defs><marker id="arr" markerWidth="8" markerHeight="8" refX="6" refY="4" orient="auto">'
                     '<path d="M0,0 L8,4 L0,8 z" fill="#ff6f00"/></marker></defs>'
                     f'<image href="{src}" width="{w}" height="{h}"/>{overlay_svg(step.actions, w, h)}</svg>')
    elif step.screenshot_missing:
        parts.append(f'<div class="warn">screenshot {_esc(step.screenshot_name)} is missing</div>')
    parts.append(f'<div><b>step {step.index + 1}</b> <span class="meta">(logged #{_esc(step.number)}, '
                 f'line {_esc(step.line)}, {_esc(step.timestamp)})</span><ul>')
    for a in step.actions:
        under = ""
        if a11y and a.has_point() and size:
            px = a.to_pixels(*size)
            node = element_at(read_a11y(a11y).nodes, *px) if px else None
            if node:
                under = f' → <i>{_esc(node.tag)} “{_esc(node.name or node.text)}”</i>'
        parts.append(f"<li>{_esc(a.describe())}{under}</li>")
    parts.append("</ul>")
    if step.error:
        parts.append(f'<div class="warn">crash: {_esc(step.error)}</div>')
    if step.raw_actions:
        code = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in step.raw_actions)
        parts.append(f"<pre>{_esc(code)}</pre>")
    if step.response:
        parts.append(f"<details><summary>model response</summary><pre>{_esc(step.response)}</pre></details>")
    parts.append("</div></div>")
    return "".join(parts)


def _task_html(task: Task, images: _Images) -> str:
    parts = [f'<div class="task" id="{_esc(task.key)}"><h3>{_esc(task.key)} {_status(task.status)}</h3>',
             f"<p>{_esc(task.instruction)}</p><p class='meta'>score {_esc(task.score)} · {len(task.steps)} steps "
             f"· budget {_esc(task.budget)} · stop {_esc(task.stop_type)}</p>"]
    if task.crash:
        parts.append(f'<p class="warn">{_esc(task.crash)}</p>')
    if task.definition and task.definition.get("evaluate"):
        checks = json.dumps(task.definition["evaluate"], indent=1, ensure_ascii=False)
        parts.append(f"<details><summary>checks (as written; lambdas are text)</summary><pre>{_esc(checks)}</pre>"
                     "</details>")
    for p in task.problems:
        parts.append(f'<div class="warn">{_esc(p)}</div>')
    parts.extend(_step_html(s, images) for s in task.steps)
    parts.append("</div>")
    return "".join(parts)


def render_html(run: Run, images: _Images) -> str:
    agg = aggregate(run)
    o = agg["overall"]
    rows = "".join(f"<tr><td>{_esc(d['domain'])}</td><td>{d['total']}</td><td>{d['pass']}</td><td>{d['partial']}</td>"
                   f"<td>{d['fail']}</td><td>{d['crashed']}</td><td>{d['skipped']}</td><td>{pct(d['solved_rate'])}</td>"
                   f"<td>{pct(d['finished_rate'])}</td></tr>" for d in agg["domains"])
    index = "".join(f'<tr><td><a href="#{_esc(t["key"])}">{_esc(t["key"])}</a></td><td>{_status(t["status"])}</td>'
                    f"<td>{_esc(t['score'])}</td><td>{t['steps']}</td><td>{_esc(t['budget'])}</td></tr>"
                    for t in agg["tasks"])
    head = (f"<!doctype html><html><head><meta charset='utf-8'><title>Replay: {_esc(run.name)}</title>"
            f"<style>{CSS}</style></head><body><h1>Replay report: {_esc(run.name)}</h1>"
            f"<p class='meta'>{_esc(run.path)} · format {run.format} · {o['total']} tasks · "
            f"{agg['screenshots']} screenshots</p>"
            f"<p>Overall (ScienceBoard: mean of domain rates) <b>{pct(o['macro_rate'])}</b> · solved/total "
            f"<b>{o['pass']}/{o['total']} = {pct(o['solved_rate'])}</b> (crashed {o['crashed']} and skipped "
            f"{o['skipped']} counted) · finished-only {pct(o['finished_rate'])} · mean score {pct(o['mean_score'])}</p>"
            "<table><tr><th>domain</th><th>tasks</th><th>pass</th><th>partial</th><th>fail</th><th>crashed</th>"
            f"<th>skipped</th><th>solved/total</th><th>finished-only</th></tr>{rows}</table>"
            + _bar_chart([(d["domain"], d["solved_rate"]) for d in agg["domains"]], "success rate by domain")
            + _bar_chart([(f"{d['difficulty']} ({d['budget']})", d["solved_rate"]) for d in agg["difficulty"]],
                         "success rate by difficulty (step budget)")
            + f"<h2>Tasks</h2><table><tr><th>task</th><th>status</th><th>score</th><th>steps</th><th>budget</th></tr>"
              f"{index}</table>")
    if agg["problems"]:
        head += "<h2>Problems in the input</h2><ul>" + "".join(f"<li>{_esc(p)}</li>" for p in agg["problems"]) + "</ul>"
    return head + "".join(_task_html(t, images) for t in run.tasks) + "</body></html>\n"


def export_html(run: Run, out: str | Path, images: str = "embed") -> Path:
    """Write the report to ``out``; ``images`` is ``embed``, ``copy`` (into ``<stem>_files/``) or ``none``."""
    if images not in ("embed", "copy", "none"):
        raise ValueError(f"images must be embed, copy or none, not {images!r}")
    out = Path(out)
    if out.resolve().is_relative_to(run.path):
        raise ValueError(f"{out} is inside the run folder {run.path}; inputs are never modified")
    if images == "copy":
        folder = out.with_name(out.stem + "_files")
        with atomic_dir(folder, overwrite=True) as tmp:
            text = render_html(run, _Images("copy", tmp, folder.name, Path(run.path)))
        return atomic_write_text(out, text)
    return atomic_write_text(out, render_html(run, _Images(images, None, "", Path(run.path))))
