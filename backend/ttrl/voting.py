"""Pseudo-labels, rewards, GRPO advantages and the per-step metrics.

Two quirks of the reference (PRIME-RL/TTRL) are fixed here:

* An empty or missing answer never becomes the label. The reference votes on the extracted
  strings, "" included, so a group where most rollouts give no answer labels itself "" and
  rewards the answer-less rollouts with 1. Here ``backend.mathgrade.majority_vote`` skips
  missing answers; a group with no answer at all has no label, every reward is 0 and, all
  rewards being equal, every advantage is 0 (the group teaches nothing).
* Ties are broken by the answer seen first in sampling order (``majority_vote``'s stated
  rule), which is deterministic given the seed. Voting and rewarding both use answer
  equivalence (``is_equivalent``), so "0.5" and "1/2" count as the same vote and earn the
  same reward — the reference voted on strings and rewarded by equivalence.

The *majority ratio* of a prompt is the fraction of its N votes equivalent to the label.
Ground truth enters only :func:`monitor_metrics`, whose output is logged, never trained on.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class GroupVote:
    """The vote of one prompt's N rollouts: extracted answers, the label and the rewards."""

    answers: list[str | None]
    label: str | None
    rewards: list[float]

    @property
    def majority_ratio(self) -> float:
        return sum(self.rewards) / len(self.rewards) if self.rewards else 0.0


def extract_answers(texts: list[str]) -> list[str | None]:
    from backend.mathgrade import extract_answer

    out = []
    for t in texts:
        a = extract_answer(t)
        out.append(a if a is not None and str(a).strip() else None)
    return out


def pseudo_label(answers: list[str | None]) -> str | None:
    """Majority answer of a group; None when no rollout produced an answer."""
    from backend.mathgrade import majority_vote

    present = [a for a in answers if a is not None and a.strip()]
    if not present:
        return None
    label, _support = majority_vote(present)
    return label


def rewards_against(answers: list[str | None], label: str | None) -> list[float]:
    """1.0 for each answer equivalent to ``label``, else 0.0 (a missing answer or label gives 0)."""
    from backend.mathgrade import is_equivalent

    if label is None:
        return [0.0] * len(answers)
    return [1.0 if a is not None and is_equivalent(a, label) else 0.0 for a in answers]


def vote_group(texts: list[str]) -> GroupVote:
    answers = extract_answers(texts)
    label = pseudo_label(answers)
    return GroupVote(answers, label, rewards_against(answers, label))


def grpo_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Group-normalised advantages: (r - mean) / (std + eps) within each row (group).

    ``rewards`` is (groups, group_size). The std is the unbiased one (N-1), as in verl's
    GRPO; a group of one uses mean 0 and std 1, and a group whose rewards are all equal
    gets advantage 0.
    """
    rewards = rewards.to(torch.float32)
    if rewards.dim() != 2:
        raise ValueError(f"rewards must be (groups, group_size), got shape {tuple(rewards.shape)}")
    if rewards.shape[1] == 1:
        return rewards.clone()
    mean = rewards.mean(dim=1, keepdim=True)
    std = rewards.std(dim=1, unbiased=True, keepdim=True)
    return (rewards - mean) / (std + eps)


def pass_at_1_and_maj(answers: list[str | None], truth: str) -> tuple[float, float]:
    """(mean accuracy of the samples, accuracy of their majority answer) against ``truth``."""
    correct = rewards_against(answers, truth)
    label = pseudo_label(answers)
    maj = rewards_against([label], truth)[0] if label is not None else 0.0
    return (sum(correct) / len(correct) if correct else 0.0), maj


def monitor_metrics(votes: list[GroupVote], truths: list[str | None]) -> dict[str, float]:
    """Label accuracy, reward accuracy, ground-truth ratio (train pass@1) and pass@N.

    Only prompts with a known truth count; returns {} when none has one. These numbers are
    for the user's eyes: the caller logs them and nothing else.
    """
    from backend.mathgrade import is_equivalent

    label_acc, reward_acc, gt_ratio, pass_n = [], [], [], []
    for vote, truth in zip(votes, truths):
        if truth is None:
            continue
        true_rewards = rewards_against(vote.answers, truth)
        label_acc.append(1.0 if vote.label is not None and is_equivalent(vote.label, truth) else 0.0)
        reward_acc.append(sum(float(a == b) for a, b in zip(vote.rewards, true_rewards)) / len(true_rewards))
        gt_ratio.append(sum(true_rewards) / len(true_rewards))
        pass_n.append(1.0 if any(true_rewards) else 0.0)
    if not label_acc:
        return {}
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    return {"label_accuracy": mean(label_acc), "reward_accuracy": mean(reward_acc),
            "train_pass@1": mean(gt_ratio), "train_pass@N": mean(pass_n)}
