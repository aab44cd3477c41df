"""The TTS adapter keeps a generative PRM's step scores per prefix and asks only for new steps."""
from __future__ import annotations

from backend.tts.scoring import PRMAdapter


class CountingGenerativeScorer:
    """A step scorer whose score of step k is a function of the prefix (as a GenPRM's is),
    recording which steps it was asked to judge."""

    kind = "generative"

    def __init__(self) -> None:
        self.judged: list[tuple[str, str]] = []

    def score_batch(self, items, progress=None, start=None):
        out = []
        for (problem, steps), s in zip(items, start or [0] * len(items)):
            row = []
            for k in range(s, len(steps)):
                self.judged.append((problem, steps[k]))
                row.append(1.0 / (1 + len("".join(steps[:k + 1]))))
            out.append(row)
        return out


def test_generative_scores_are_cached_per_prefix_and_match_uncached():
    lines = ["Step 1: 2+3=5", "Step 2: 5*2=10", "Answer: 10"]
    fresh = PRMAdapter(CountingGenerativeScorer())
    full = fresh([("2+3", lines)])[0]
    scorer = CountingGenerativeScorer()
    cached = PRMAdapter(scorer)
    assert cached([("2+3", lines[:1])])[0] == full[:1]
    assert cached([("2+3", lines), ("2+3", lines)])[0] == full          # same solution twice
    assert full[2] == full[1]                                           # the answer line inherits
    assert scorer.judged == [("2+3", "2+3=5"), ("2+3", "5*2=10")]       # each step judged once
    other = cached([("7", ["Step 1: 2+3=5"])])[0]                       # another problem: judged anew
    assert len(other) == 1 and scorer.judged[-1] == ("7", "2+3=5")
