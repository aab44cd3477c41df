"""Make the sample agent runs in ``resources/sample_runs`` (``python -m tools.make_sample_runs``).

Two scripted agents (careful, and noisy with seeded grounding errors) solve eight tasks on two
real Qt programs (``MiniCalc``, ``MiniNotes``) offscreen. Every episode is recorded once and
written in both layouts: ScienceBoard (``<App>/<ID>/``) and OSWorld (``<domain>/<uuid>/``; the
noisy agent's copy uses ``computer_13`` dicts). Outcomes are computed from the apps' real state:
a crash, failures, an infeasible task, relative and ``tag_N`` clicks, a drag, a scroll, an ANS
answer, a partial OSWorld score and a missing screenshot all arise from running the agents.
"""
from __future__ import annotations

import argparse
import difflib
import os
import traceback
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.agents.writers import Episode
    from tools.mini_apps import MiniNotes

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "sample_runs"

# (domain, id, budget, instruction, evaluate spec as written in the task JSON)
TASKS = [
    ("Calc", "A-01", 5, "Compute 12 × 7 and leave the result on the display.",
     [{"type": "stop", "value": "DONE"}, {"type": "info", "key": "lambda state: state['display']",
                                          "pred": "lambda v: v == '84'"}]),
    ("Calc", "A-02", 5, "Compute 3 + 4 (this agent answers in relative 0-1 coordinates).",
     [{"type": "stop", "value": "DONE"}, {"type": "info", "key": "lambda state: state['display']",
                                          "pred": "lambda v: v == '7'"}]),
    ("Calc", "B-01", 10, "Compute (9 − 5) ÷ 2.",
     [{"type": "stop", "value": "DONE"}, {"type": "info", "key": "lambda state: float(state['display'])",
                                          "pred": "lambda v: abs(v - 2) < 1e-9"}]),
    ("Calc", "B-02", 10, "Compute 45 + 55.",
     [{"type": "stop", "value": "DONE"}, {"type": "info", "key": "lambda state: state['display']",
                                          "pred": "lambda v: v == '100'"}]),
    ("Calc", "C-01", 5, "Compute the square root of 2 with MiniCalc.", [{"type": "stop", "value": "FAIL"}]),
    ("Notes", "A-01", 10, "Replace the note's text with 'hello world' in capitals and save it.",
     [{"type": "stop", "value": "DONE"}, {"type": "saved", "key": "body", "value": "HELLO WORLD"}]),
    ("Notes", "A-02", 10, "Rename the note to 'Results' and save it.",
     [{"type": "stop", "value": "DONE"}, {"type": "saved", "key": "title", "value": "Results"}]),
    ("Notes", "B-01", 15, "Capitalise the first word of the note's last line, then answer with the word count.",
     [{"type": "stop", "value": "ANS", "args": ["<word count>"]},
      {"type": "info", "key": "lambda state: state['body'].splitlines()[-1].split()[0]",
       "pred": "lambda v: v == 'REMEMBER'"}]),
]


def _last_line_word(win: MiniNotes) -> tuple[str, tuple[int, int], tuple[int, int]]:
    """A drag over the last line's first word, found by looking ("vision"), not from the a11y tree."""
    body = win.body
    doc = body.document()
    block = doc.lastBlock()
    first = block.text().split()[0]
    from PySide6.QtGui import QTextCursor

    cur = QTextCursor(block)
    r0 = body.cursorRect(cur)
    cur.setPosition(block.position() + len(first))
    r1 = body.cursorRect(cur)
    off = body.viewport().mapTo(win, body.viewport().rect().topLeft())
    y = off.y() + r0.center().y()
    return ("drag", (off.x() + r0.left() + 1, y), (off.x() + r1.left(), y))


def plans(careful: bool) -> dict[str, list]:
    """Per task: list of (intents, thought). The careful agent knows the right plan; the noisy one
    makes its own mistakes (and grounding noise on top)."""
    c = [("click", "C")]
    p = {
        "Calc/A-01": [([("click", "1"), ("click", "2")], "Enter 12."), ([("click", "×")], "Multiply."),
                      ([("click", "7"), ("click", "=")], "Enter 7 and evaluate."), (["DONE"], "The display shows 84.")],
        "Calc/A-02": [([("click_rel", "3"), ("click_rel", "+")], "Enter 3 +."),
                      ([("click_rel", "4"), ("click_rel", "=")], "Enter 4 =."), (["DONE"], "Done.")],
        "Calc/B-01": [([("click", "9"), ("click", "−"), ("click", "5"), ("click", "=")], "9 − 5 first."),
                      ([("click", "÷"), ("click", "2"), ("click", "=")], "Then divide by 2."), (["DONE"], "2.")],
        "Calc/B-02": [([("click", "4"), ("click", "5")], "Enter 45."), ([("click", "+")], "Add."), "CRASH"]
        if careful else [([("click", "4"), ("click", "5"), ("click", "+"), ("click", "5"), ("click", "5"),
                           ("click", "=")], "45 + 55 ="), (["DONE"], "Shown.")],
        "Calc/C-01": [(c, "There is no square-root key; clear and give up."), (["FAIL"], "Infeasible.")]
        if careful else [([("click", "2"), ("click", "×"), ("click", "2"), ("click", "=")], "Try 2 × 2."),
                         (["DONE"], "Close enough.")],
        "Notes/A-01": [([("click", "body")], "Focus the text."),
                       ([("hotkey", "ctrl", "a"), ("type", "hello world" if careful else "helo world")],
                        "Replace it."),
                       ([("hotkey", "ctrl", "a"), ("click", "UPPERCASE")], "Capitalise."),
                       ([("click", "Save")], "Save."), (["DONE"], "Saved.")],
        "Notes/A-02": [([("click_tag", "title"), ("hotkey", "ctrl", "a")], "Select the title."),
                       ([("type", "Results")], "Type the new name."), ([("click_tag", "Save")], "Save."),
                       (["DONE"], "Saved.")],
        "Notes/B-01": [([("scroll", "body", -10)], "Scroll to the end of the note."),
                       ([_last_line_word], "Select the first word of the last line."),
                       ([("click", "UPPERCASE")], "Capitalise it."),
                       ([lambda w: f"ANS {w.state()['words']}"], "Read the word count.")],
    }
    return p


def _check(spec: dict, state: dict, saved: dict | None) -> bool:
    """The generator's own implementation of each check (the JSON keeps them only as text)."""
    if spec["type"] == "saved":
        return bool(saved) and saved.get(spec["key"]) == spec["value"]
    disp, body = state.get("display"), state.get("body", "")
    key = spec["key"]
    try:
        if "float(state['display'])" in key:
            return abs(float(disp) - 2) < 1e-9
        if "state['display']" in key:
            return disp == spec["pred"].split("== ")[1].strip("'")
        if "splitlines()[-1]" in key:
            return body.splitlines()[-1].split()[0] == "REMEMBER"
    except (ValueError, IndexError):
        return False
    raise ValueError(f"no implementation for check {spec}")


def run_episode(task: tuple, plan: list, noise: float, seed: int) -> Episode:
    from backend.agents.writers import Episode
    from tools.mini_apps import MiniCalc, MiniNotes
    from tools.scripted_agent import Executor, ScriptedAgent, screenshot, settle

    domain, tid, budget, instruction, checks = task
    win = MiniCalc() if domain == "Calc" else MiniNotes()
    win.show()
    settle()
    agent = ScriptedAgent(win, noise=noise, seed=seed)
    ex = Executor(win)
    ep = Episode(domain, tid, instruction, budget, initial_png=screenshot(win), os_domain=domain.lower(),
                 uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"benchtop-sample/{domain}/{tid}")))
    answer = None
    for item in plan[:budget]:
        if item == "CRASH":
            from backend.agents.writers import RecordedStep

            ep.steps.append(RecordedStep(screenshot(win), None, ""))
            try:
                raise TimeoutError("model endpoint did not answer within 60 s (read timeout)")
            except TimeoutError:
                ep.crash = traceback.format_exc()
            break
        intents, thought = item
        intents = [i(win) if callable(i) else i for i in intents]
        ep.steps.append(agent.step(intents, thought, ex))
        last = ep.steps[-1].actions[-1].logged if ep.steps[-1].actions else ""
        if isinstance(last, str) and last.split(" ")[0] in ("DONE", "FAIL", "ANS"):
            ep.stop_type = last.split(" ")[0]
            answer = last[4:] if last.startswith("ANS") else None
            break
    state = win.state() if domain == "Calc" else {k: v for k, v in win.state().items() if k != "saved"}
    saved = getattr(win, "saved", None)
    if not ep.crash:
        stop = next(c for c in checks if c["type"] == "stop")
        stop_ok = ep.stop_type == stop["value"] and (stop["value"] != "ANS" or answer == str(win.state()["words"]))
        others = [_check(c, state, saved) for c in checks if c["type"] != "stop"]
        ep.passed = stop_ok and all(others)
        if stop["value"] == "FAIL" or ep.stop_type == "FAIL":
            ep.score = 1.0 if ep.passed else 0.0
        elif tid == "A-01" and domain == "Notes":  # OSWorld-style similarity metric: partial credit
            got = (saved or {}).get("body", "")
            ep.score = round(difflib.SequenceMatcher(None, got, "HELLO WORLD").ratio(), 4) if stop_ok else 0.0
        else:
            ep.score = 1.0 if ep.passed else 0.0
    win.close()
    return ep


def to_computer13(code: str) -> str | list[dict]:
    """The same executed action as an OSWorld computer_13 dict."""
    from backend.agents.actions import parse_action

    if code in ("DONE", "FAIL") or (isinstance(code, str) and code.startswith(("ANS", "WAIT"))):
        return code.split(" ")[0] if code.startswith(("DONE", "FAIL")) else "DONE" if code.startswith("ANS") else "WAIT"
    out = []
    for a in parse_action(code):
        t = {"click": "CLICK", "move": "MOVE_TO", "drag": "DRAG_TO", "scroll": "SCROLL", "type": "TYPING",
             "hotkey": "HOTKEY", "key": "PRESS"}[a.kind]
        params = {"x": a.x, "y": a.y} if a.kind in ("click", "move", "drag") else {}
        if a.kind == "scroll":
            params = {"dx": 0, "dy": int(a.amount)}
        elif a.kind == "type":
            params = {"text": a.text}
        elif a.kind == "hotkey":
            params = {"keys": a.keys}
        out.append({"action_type": t, "parameters": params})
    return out


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(SAMPLES))
    args = ap.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from backend.agents.writers import write_osworld, write_scienceboard
    from backend.workspace.atomic import atomic_dir, atomic_write_json, atomic_write_text

    app = QApplication.instance() or QApplication([])  # noqa: F841
    app.setStyle("Fusion")
    agents = {"scripted_a11y": (True, 0.0), "scripted_noisy": (False, 0.15)}
    with atomic_dir(args.out, overwrite=True) as out:
        for domain, tid, budget, instruction, checks in TASKS:
            defn = {"type": domain, "sort": "VM", "steps": budget, "instruction": instruction, "version": "0.1",
                    "initialize": [{"func": "launch", "wait": 1}], "evaluate": checks}
            atomic_write_json(out / "scienceboard/tasks/VM" / domain / f"{tid}.json", defn)
            uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"benchtop-sample/{domain}/{tid}"))
            atomic_write_json(out / "osworld/evaluation_examples/examples" / domain.lower() / f"{uid}.json",
                              {"id": uid, "instruction": instruction, "related_apps": [f"mini{domain.lower()}"],
                               "evaluator": {"func": "infeasible" if checks[0]["value"] == "FAIL" else "check_state",
                                             "expected": checks[1:]}})
        for name, (careful, noise) in agents.items():
            eps = []
            for k, task in enumerate(TASKS):
                ep = run_episode(task, plans(careful)[f"{task[0]}/{task[1]}"], noise, seed=k)
                if careful and (task[0], task[1]) == ("Notes", "A-02"):
                    ep.drop_screenshots = {1}  # the screenshot write "failed": logged but absent
                eps.append(ep)
                print(f"{name} {task[0]}/{task[1]}: passed={ep.passed} score={ep.score} crash={bool(ep.crash)}")
            write_scienceboard(out / "scienceboard" / f"{name}-vm-screenshot+a11y_tree", eps)
            if careful:
                write_osworld(out / "osworld/pyautogui/screenshot_a11y_tree" / name, eps,
                              {"action_space": "pyautogui", "observation_type": "screenshot_a11y_tree",
                               "model": name, "max_steps": 15})
            else:
                for ep in eps:
                    for st in ep.steps:
                        for a in st.actions:
                            a.executed = to_computer13(a.executed)
                write_osworld(out / "osworld/computer_13/screenshot" / name, eps,
                              {"action_space": "computer_13", "observation_type": "screenshot",
                               "model": name, "max_steps": 15})
        atomic_write_text(out / "README.md", (
            "# Sample agent runs\n\nMade by `python -m tools.make_sample_runs` (a scripted agent driving the "
            "real MiniCalc/MiniNotes Qt programs offscreen). Do not edit by hand; regenerate.\n\n"
            "- `scienceboard/tasks/VM/<App>/<ID>.json`: task definitions (check lambdas are text)\n"
            "- `scienceboard/scripted_a11y-vm-screenshot+a11y_tree`, `scienceboard/scripted_noisy-…`: "
            "ScienceBoard runs\n"
            "- `osworld/pyautogui/screenshot_a11y_tree/scripted_a11y`: the careful agent's run, OSWorld layout\n"
            "- `osworld/computer_13/screenshot/scripted_noisy`: the noisy agent's run, computer_13 actions\n"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
