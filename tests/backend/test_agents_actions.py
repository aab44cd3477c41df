"""Action parsing (ast only, never executed), a11y TSV and element-under-click."""
from __future__ import annotations

from backend.agents.a11y import element_at, parse_a11y
from backend.agents.actions import parse_action, parse_computer13


def kinds(raw, pointer=None):
    return [(a.kind, a.coords) for a in parse_action(raw, pointer)]


def test_pyautogui_calls_in_order_with_coordinates():
    acts = parse_action("import pyautogui\npyautogui.moveTo(10, 20)\npyautogui.dragTo(300, 40, duration=1)\n"
                        "pyautogui.click(x=5, y=6, clicks=2)\npyautogui.rightClick(7, 8)")
    assert [a.kind for a in acts] == ["move", "drag", "double_click", "right_click"]
    assert (acts[1].x0, acts[1].y0, acts[1].x, acts[1].y) == (10, 20, 300, 40)
    assert acts[2].coords == "absolute" and (acts[2].x, acts[2].y) == (5, 6)


def test_relative_tag_and_unresolved_coordinates():
    rel = parse_action("pyautogui.click(0.25, 0.5)")[0]
    assert rel.coords == "relative" and rel.to_pixels(200, 100) == (50, 50)
    tag = parse_action("pyautogui.click(tag_12)")[0]
    assert tag.coords == "tag" and tag.target == "tag_12" and tag.to_pixels(200, 100) is None
    assert "not logged" in tag.describe()
    assert kinds("pyautogui.doubleClick(*tag_3)") == [("double_click", "tag")]
    assert kinds("pyautogui.click(x, y)") == [("click", "unresolved")]
    assert kinds("pyautogui.click(1, 1)") == [("click", "absolute")]  # integers are pixels


def test_keys_text_scroll_and_primitives():
    acts = parse_action("pyautogui.hotkey('ctrl', 's')\npyautogui.typewrite('hi there')\n"
                        "pyautogui.press(['down', 'enter'])\ntime.sleep(0.5)\npyautogui.scroll(-3)", pointer=(4, 9))
    assert [(a.kind, a.keys or a.text or a.amount) for a in acts] == [
        ("hotkey", ["ctrl", "s"]), ("type", "hi there"), ("key", ["down", "enter"]), ("wait", 0.5), ("scroll", -3)]
    assert (acts[-1].x, acts[-1].y) == (4, 9)  # scroll happens at the pointer
    assert [(a.kind, a.text, a.amount) for a in parse_action("ANS 46368") + parse_action("WAIT")] == [
        ("answer", "46368", None), ("wait", None, 5.0)]
    assert kinds("DONE") == [("done", "none")] and kinds("FAIL") == [("fail", "none")]


def test_code_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    code = f"open({str(marker)!r}, 'w').write('x')\npyautogui.click(__import__('os').getpid(), 3)"
    acts = parse_action(code)
    assert not marker.exists()
    assert acts[0].kind == "click" and acts[0].coords == "unresolved"


def test_syntax_error_reports_its_line():
    a = parse_action("pyautogui.click(1, 2)\npyautogui.click(")[0]
    assert a.kind == "code" and "line 2" in a.note


def test_computer13_dicts():
    a = parse_computer13({"action_type": "CLICK", "parameters": {"x": 100, "y": 200, "num_clicks": 2}})
    assert (a.kind, a.x, a.y, a.coords) == ("double_click", 100, 200, "absolute")
    s = parse_computer13({"action_type": "SCROLL", "parameters": {"dx": 0, "dy": -4}})
    assert (s.kind, s.amount) == ("scroll", -4)
    h = parse_computer13({"action_type": "HOTKEY", "parameters": {"keys": ["ctrl", "c"]}})
    assert h.keys == ["ctrl", "c"]
    assert parse_computer13({"action_type": "WARP"}).kind == "unknown"


def test_a11y_table_and_element_under_click():
    tsv = ("tag\tname\ttext\tclass\tdescription\tposition (top-left x&y)\tsize (w&h)\n"
           "frame\tApp\t\tQWidget\t\t(0, 0)\t(300, 200)\n"
           "push-button\tOK\t\tQPushButton\t\t(10, 10)\t(50, 20)\n"
           "label\tbroken\t\tQLabel\t\tnowhere\t(5, 5)\n[...]\n")
    table = parse_a11y(tsv, "obs.txt")
    assert len(table.nodes) == 3 and table.truncated
    assert [str(p) for p in table.problems] == ["obs.txt:4: bad bounds 'nowhere' '(5, 5)'"]
    assert element_at(table.nodes, 30, 15).name == "OK"
    assert element_at(table.nodes, 200, 150).name == "App"
    assert element_at(table.nodes, 400, 10) is None
