"""Discriminative PRMs: every step of a solution scored in one forward pass.

The input is the string the model card builds: the prefix (``prefix_template`` with the
problem), then each step (labelled ``Step k: `` when the descriptor's ``step_label`` says the PRM
was trained so) followed by its separator, the last separator cut to ``score_marker`` when
``final_tail`` is false (Math-Shepherd's card ends with `` ки``), then ``suffix`` (Qwen's
``<|im_end|>\n``). The WHOLE string is tokenized once, as the cards do, so no stray ``▁`` or
merge differs from the card; each step's score is read at the token that holds the last
character of its marker, found through the tokenizer's character offsets (a step's own text
cannot create a score: copies of the marker inside it are blanked by ``clean_step``).

Batches are right-padded with an attention mask: a token's logits depend only on itself and the
tokens before it (causal models) or on unmasked tokens (bidirectional ones), so padding and
batch composition do not change scores. Sequences are sorted by length and packed under a
token budget to limit padding.
"""
from __future__ import annotations

from typing import Sequence

import torch

from backend.prm.steps import clean_step


class DiscriminativePRM:
    """A loaded discriminative PRM: ``score``, ``score_batch`` and the slow ``score_prefixes``."""

    kind = "discriminative"

    def __init__(self, model, tokenizer, descriptor: dict, device: str, name: str = "prm",
                 max_batch_tokens: int = 32768, max_batch: int = 64) -> None:
        self.model = model.eval()
        self.tok = tokenizer
        self.desc = descriptor
        self.device = torch.device(device)
        self.name = name
        self.style = descriptor["style"]
        self.max_batch_tokens = int(max_batch_tokens)
        self.max_batch = int(max_batch)
        sep = descriptor["step_separator"]
        marker = descriptor.get("score_marker") or sep
        self._sep_head, self._sep_tail = marker, sep[len(marker):]
        self.pad_id = next((t for t in (tokenizer.pad_token_id, tokenizer.eos_token_id) if t is not None), 0)
        self.max_len = int(getattr(model.config, "max_position_embeddings", 0) or 0)
        if self.style == "causal-lm-tokens":
            self.pos_id = self._single_token(descriptor["positive_token"], "positive_token")
            self.neg_id = self._single_token(descriptor["negative_token"], "negative_token")

    def _single_token(self, text: str, field: str) -> int:
        ids = self.tok.encode(text, add_special_tokens=False)
        if len(ids) != 1:
            raise ValueError(f"{self.name}: {field} {text!r} is {len(ids)} tokens for this tokenizer; it must be one")
        return ids[0]

    # -- encoding ----------------------------------------------------------------------------
    def text(self, problem: str, steps: Sequence[str]) -> tuple[str, list[int]]:
        """The input string and, per step, the character index just past its marker."""
        from backend.prm.steps import label_step

        text = self.desc["prefix_template"].replace("{problem}", str(problem))
        ends = []
        label = self.desc.get("step_label")
        for k, s in enumerate(steps):
            body = clean_step(s, self.desc["step_separator"])
            text += (label_step(body, label, k + 1) if label else body) + self._sep_head
            ends.append(len(text))
            if self._sep_tail and (k < len(steps) - 1 or self.desc.get("final_tail", True)):
                text += self._sep_tail
        return text + str(self.desc.get("suffix", "")), ends

    def encode(self, problem: str, steps: Sequence[str]) -> tuple[list[int], list[int]]:
        """Token ids of one input and, per step, the position whose logits give its score."""
        text, ends = self.text(problem, steps)
        enc = self.tok(text, return_offsets_mapping=True)
        ids, offsets = list(enc["input_ids"]), list(enc["offset_mapping"])
        at, j = [], 0
        for end in ends:
            while j < len(offsets) and not (offsets[j][0] <= end - 1 < offsets[j][1]):
                j += 1
            if j == len(offsets):
                raise ValueError(f"{self.name}: the step marker ending at character {end} is not a token of "
                                 f"the input (tokenizer offsets); check step_separator/score_marker")
            at.append(j)
        return ids, at

    # -- scoring -----------------------------------------------------------------------------
    def _probs(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, T, ·) logits -> (B, T) p(correct)."""
        logits = logits.float()
        if self.style == "causal-lm-tokens":
            pair = torch.stack([logits[..., self.pos_id], logits[..., self.neg_id]], -1)
            return torch.softmax(pair, -1)[..., 0]
        if logits.shape[-1] == 1:
            return torch.sigmoid(logits[..., 0])
        return torch.softmax(logits, -1)[..., int(self.desc.get("positive_label", 1))]

    @torch.inference_mode()
    def _forward(self, encoded: list[tuple[list[int], list[int]]]) -> list[list[float]]:
        n = max(len(ids) for ids, _ in encoded)
        x = torch.full((len(encoded), n), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(encoded), n), dtype=torch.long)
        for i, (ids, _) in enumerate(encoded):
            x[i, :len(ids)] = torch.tensor(ids, dtype=torch.long)
            mask[i, :len(ids)] = 1
        out = self.model(input_ids=x.to(self.device), attention_mask=mask.to(self.device))
        probs = self._probs(out.logits).cpu()
        return [[float(probs[i, j]) for j in at] for i, (_, at) in enumerate(encoded)]

    def score_batch(self, items: Sequence[tuple[str, Sequence[str]]], progress=None) -> list[list[float]]:
        """Step scores for each (problem, steps), one forward pass per solution, packed in batches.
        ``progress(done, total)`` is called after each batch (the job uses it to report and cancel)."""
        encoded = [self.encode(p, s) for p, s in items]
        for k, (ids, _) in enumerate(encoded):
            if self.max_len and len(ids) > self.max_len:
                raise ValueError(f"{self.name}: solution {k} is {len(ids)} tokens, longer than the model's "
                                 f"{self.max_len} positions")
        results: list[list[float] | None] = [None] * len(items)
        order = sorted((k for k in range(len(items)) if encoded[k][1]), key=lambda k: len(encoded[k][0]))
        for k in range(len(items)):
            if not encoded[k][1]:
                results[k] = []
        done, i = 0, 0
        while i < len(order):
            j = i + 1
            while j < len(order) and j - i < self.max_batch and \
                    len(encoded[order[j]][0]) * (j - i + 1) <= self.max_batch_tokens:
                j += 1
            chunk = order[i:j]
            for k, sc in zip(chunk, self._forward([encoded[k] for k in chunk])):
                results[k] = sc
            done += len(chunk)
            i = j
            if progress is not None:
                progress(done, len(order))
        return [r if r is not None else [] for r in results]

    def score(self, problem: str, steps: Sequence[str]) -> list[float]:
        """p(correct) of each step of one solution."""
        return self.score_batch([(problem, steps)])[0]

    def score_prefixes(self, problem: str, steps: Sequence[str]) -> list[float]:
        """The slow reference: one forward pass per prefix (what per-prefix evaluators do)."""
        out = []
        for k in range(1, len(steps) + 1):
            out.append(self._forward([self.encode(problem, steps[:k])])[0][-1])
        return out
