"""Text files, the char tokenizer and the synthetic key-value needle task.

A text is read once, checked (exists, is UTF-8 text, is long enough) and split 90/10 into a
training head and a held-out tail. The tokenizer is character-level over the training text plus
the needle's symbols, saved next to the model as ``vocab.json``; characters it has not seen map
to an "unknown" id so another text can still be evaluated.

Needle task (the note's CPU-scale passkey): a window of the text with ``⟦key=1234⟧`` inserted at a
random depth and ``⟦key=`` at the end; the model must produce the 4 digits. Scored by the argmax of
each digit under teacher forcing (all four right = a hit).
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

UNK = "\x00"
OPEN, CLOSE = "⟦", "⟧"
DIGITS = "0123456789"
KEY_CHARS = "abcdefghijklmnopqrstuvwxyz"
HELD_OUT = 0.1
VALUE_LEN = 4


def read_text(path: str | Path) -> str:
    """The file's text, or a one-line ValueError/FileNotFoundError naming the file and the problem."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    if p.is_dir():
        raise ValueError(f"{p}: is a folder, expected a text file")
    data = p.read_bytes()
    if not data.strip():
        raise ValueError(f"{p}: the file is empty")
    if b"\x00" in data[:65536]:
        raise ValueError(f"{p}: not a text file (binary content)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{p}: not a UTF-8 text file (undecodable byte at offset {exc.start})") from None


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def split(text: str) -> tuple[str, str]:
    """Training head and held-out tail (the last 10 %)."""
    cut = int(len(text) * (1 - HELD_OUT))
    return text[:cut], text[cut:]


@dataclass
class CharTokenizer:
    """Characters of the training text + needle symbols; id 0 is "unknown"."""

    chars: list[str]

    @classmethod
    def fit(cls, text: str) -> CharTokenizer:
        extra = set(DIGITS + KEY_CHARS + OPEN + CLOSE + "=")
        return cls([UNK] + sorted((set(text) | extra) - {UNK}))

    def __post_init__(self) -> None:
        self.index = {c: i for i, c in enumerate(self.chars)}

    @property
    def size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        get = self.index.get
        return np.fromiter((get(c, 0) for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def save(self, folder: Path) -> None:
        from backend.workspace.atomic import atomic_write_json

        atomic_write_json(Path(folder) / "vocab.json", {"type": "char", "chars": self.chars})

    @classmethod
    def load(cls, folder: Path) -> CharTokenizer:
        path = Path(folder) / "vocab.json"
        if not path.exists():
            raise FileNotFoundError(f"{folder}: no vocab.json (not a model trained by 'fope train')")
        return cls(json.loads(path.read_text(encoding="utf-8"))["chars"])


def need_length(ids: np.ndarray, length: int, what: str, path: str | Path) -> None:
    if len(ids) < length + 1:
        raise ValueError(f"{path}: {what} has {len(ids)} characters, shorter than the window of {length} "
                         f"(+1 for the next-token target); use a longer text or a shorter length")


def random_windows(ids: np.ndarray, length: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` windows of ``length + 1`` tokens at random offsets (input + shifted target)."""
    starts = rng.integers(0, len(ids) - length, size=count)
    return np.stack([ids[s: s + length + 1] for s in starts])


def tiled_windows(ids: np.ndarray, length: int, count: int) -> np.ndarray:
    """Up to ``count`` non-overlapping windows of ``length + 1`` tokens spread over the text."""
    n = max(1, min(count, (len(ids) - 1) // length))
    starts = np.linspace(0, len(ids) - length - 1, n).astype(int)
    return np.stack([ids[s: s + length + 1] for s in starts])


def needle_window(tok: CharTokenizer, ids: np.ndarray, length: int, rng: random.Random) -> tuple[np.ndarray, int]:
    """A window of ``length + 1`` tokens: filler, a needle at a random depth, the query and the value
    at the end. Returns the tokens and the index of the first value digit in the target."""
    key = "".join(rng.choice(KEY_CHARS) for _ in range(3))
    value = "".join(rng.choice(DIGITS) for _ in range(VALUE_LEN))
    needle = tok.encode(f"{OPEN}{key}={value}{CLOSE}")
    query = tok.encode(f"{OPEN}{key}={value}")
    filler_len = length + 1 - len(needle) - len(query)
    if filler_len < 1:
        raise ValueError(f"window of {length} is too short for the recall task (needs > {len(needle) + len(query)})")
    start = rng.randrange(0, len(ids) - filler_len)
    filler = ids[start: start + filler_len]
    depth = rng.randrange(0, filler_len + 1)
    seq = np.concatenate([filler[:depth], needle, filler[depth:], query])
    return seq, length - VALUE_LEN      # target position t predicts seq[t + 1]
