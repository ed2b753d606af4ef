"""The JSB protocol's measures: negative log-likelihood per time step (nats, summed over the 88
keys) and frame-level accuracy (Bay et al. 2009)."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def nll_sum(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Summed negative log-likelihood of ``targets`` ``[B, T, 88]`` over the real steps ``mask``
    ``[B, T]``: divide by ``mask.sum()`` for nats per time step."""
    per_key = F.binary_cross_entropy_with_logits(logits.float(), targets.float(), reduction="none")
    return (per_key.sum(-1) * mask).sum()


def frame_counts(predicted: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``[TP, FP, FN]`` over the real steps: accuracy = TP / (TP + FP + FN) (Bay et al. 2009)."""
    keep = mask.bool()[..., None]
    p, t = predicted.bool() & keep, targets.bool() & keep
    return torch.stack([(p & t).sum(), (p & ~t).sum(), (~p & t).sum()]).float()


def frame_accuracy(counts: torch.Tensor) -> float:
    tp, fp, fn = counts.tolist()
    return tp / (tp + fp + fn) if tp + fp + fn else 0.0
