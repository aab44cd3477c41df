"""Surface normalisation of answer strings, before any value is compared.

Each rewrite here is one documented grading rule (see ``docs/prm.md`` § Grading):

* ``$``, ``\\(\\)``, ``\\[\\]``, a whole-string ``\\boxed{}``, ``\\left``/``\\right``, thin spaces
  and ``\\displaystyle`` are layout, not value: removed.
* ``\\dfrac``/``\\tfrac`` are ``\\frac``; ``\\frac12`` is ``\\frac{1}{2}``.
* Units: ``\\$5``, ``5\\text{ cm}``, ``90^\\circ`` and ``90°`` are the bare number (units are not
  checked: the reference answer fixes them).
* ``x = 3`` is ``3`` (a single-letter variable assigned once).
* Thousands separators ``1,000`` and ``1{,}000`` are removed only when every group after the
  first has exactly three digits (``3, 5`` stays a list of two answers).
* ``\\text{(A)}``, ``(A)`` and ``A`` are the same multiple-choice letter (A-E).
* Small number words (``two``, ``twelve``, ``forty``) are numbers.
* Unicode minus and a trailing full stop are normalised away.
"""
from __future__ import annotations

import re

_LAYOUT = [r"\left", r"\right", r"\displaystyle", r"\!", r"\,", r"\;", r"\:", r"\quad", r"\qquad"]
_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}
_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70",
               "eighty": "80", "ninety": "90", "hundred": "100", "thousand": "1000"})
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


def matching_brace(s: str, open_idx: int) -> int:
    """Index of the brace closing the one at ``open_idx`` (``{``), or -1 when unbalanced."""
    depth = 0
    for i in range(open_idx, len(s)):
        if s[i] == "{" and (i == 0 or s[i - 1] != "\\"):
            depth += 1
        elif s[i] == "}" and (i == 0 or s[i - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return i
    return -1


def unwrap_command(s: str, command: str) -> str:
    """Replace every ``\\command{X}`` by ``X`` (brace-balanced)."""
    token = "\\" + command + "{"
    while True:
        i = s.find(token)
        if i < 0:
            return s
        j = matching_brace(s, i + len(token) - 1)
        if j < 0:
            return s
        s = s[:i] + s[i + len(token):j] + s[j + 1:]


def normalize(answer: str) -> str:
    """The canonical surface form of one answer (no value reasoning yet)."""
    s = str(answer).strip().replace("\u2212", "-").replace("\u00b0", "^\\circ")
    for delimiter in ("\\$", "$", "\\(", "\\)", "\\[", "\\]"):
        s = s.replace(delimiter, "")
    s = s.strip()
    if s.startswith("\\boxed{") and matching_brace(s, 6) == len(s) - 1:
        s = s[7:-1]
    for tok in _LAYOUT:
        s = s.replace(tok, "")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\$", "")
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("{,}", ",")
    s = re.sub(r"\\frac\s*(\d)\s*(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\s*\{([^{}]*)\}\s*(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\s*(\d)\s*\{", r"\\frac{\1}{", s)
    # units written as text after a value, then any remaining \text{X} / \mathrm{X} wrappers
    s = re.sub(r"(?<=[\d}])\s*\\(?:text|mbox|mathrm)\{\s*[A-Za-z][A-Za-z .^0-9]*\}\s*$", "", s)
    for cmd in ("text", "textbf", "mathrm", "mbox", "mathbf"):
        s = unwrap_command(s, cmd)
    s = re.sub(r"\s+", " ", s).strip().rstrip(".").strip()
    m = re.match(r"^[A-Za-z]\s*=\s*([^=]+)$", s)
    if m:
        s = m.group(1).strip()
    if _THOUSANDS.match(s.replace(" ", "")):
        s = s.replace(",", "").replace(" ", "")
    m = re.match(r"^\(?\s*([A-E])\s*\)$|^\(\s*([A-E])\s*\)?$", s)
    if m:
        s = m.group(1) or m.group(2)
    if s.lower() in _WORDS:
        s = _WORDS[s.lower()]
    return s
