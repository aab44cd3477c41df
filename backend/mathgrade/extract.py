"""Answer extraction from a model's solution text.

Order of preference (the first that applies wins):

1. the **last** ``\\boxed{...}`` (or ``\\fbox{...}``), brace-balanced, so nested fractions
   survive (ProcessBench's critic regex drops them);
2. the **last** line of the form ``Answer: X`` / ``Final answer: X`` / ``The answer is X``
   (case-insensitive); an empty ``Answer:`` line means "no answer" (None) rather than falling
   back to some number from the working;
3. the **last number** in the text (``-3``, ``1,000``, ``2.5``, ``3/4``).

Returns None, never an empty string, when nothing is found, so a caller can tell "no answer".
"""
from __future__ import annotations

import re

from backend.mathgrade.normalize import matching_brace

# ``(?:\s*is)?\s*`` rather than ``\s*(?:is)?\s*``: two adjacent ``\s*`` split a run of spaces in
# quadratically many ways before failing ("answer" + 8,000 spaces took 1.3 s; model output can)
_ANSWER_LINE = re.compile(r"(?:final answer|answer)(?:\s*is)?\s*[:：]\s*(.*)$"
                          r"|the (?:final )?answer is\s*[:：]?\s*(.*)$", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?(?:\s*/\s*\d+)?|-?\.\d+")


def _last_boxed(text: str) -> str | None:
    best = None
    for tok in ("\\boxed", "\\fbox"):
        i = text.rfind(tok)
        if i < 0:
            continue
        j = i + len(tok)
        while j < len(text) and text[j] == " ":
            j += 1
        if j < len(text) and text[j] == "{":
            k = matching_brace(text, j)
            if k < 0:
                continue
            content = text[j + 1:k]
        else:  # "\boxed 5"
            m = re.match(r"\s*([^\s$]+)", text[i + len(tok):])
            if not m:
                continue
            content = m.group(1)
        if best is None or i > best[0]:
            best = (i, content)
    return None if best is None else best[1].strip()


def extract_answer(text: str | None) -> str | None:
    """The final answer stated in ``text`` (see module docstring for the rule), or None."""
    if text is None:
        return None
    text = str(text)
    boxed = _last_boxed(text)
    if boxed is not None:
        return boxed or None
    for line in reversed(text.splitlines()):
        m = _ANSWER_LINE.search(line.strip())
        if m:
            ans = (m.group(1) if m.group(1) is not None else m.group(2) or "").strip()
            ans = ans.strip("$ ").rstrip(".").strip()
            return ans or None
    nums = _NUMBER.findall(text)
    if not nums:
        return None
    return nums[-1].replace(" ", "")
