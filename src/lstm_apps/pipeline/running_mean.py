"""The weighted running mean every app keeps of its losses."""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor, nn
from torchmetrics import Metric


class WeightedMean(Metric):
    """``sum(value * weight) / sum(weight)`` over every update of every process.

    Why not torchmetrics' ``MeanMetric``: by default it checks each update for NaN
    (``if isnan(x).any()``), which makes the host wait for the device at every step; with that
    check off (``nan_strategy="disable"``, torchmetrics 1.9) it replaces the weights by ones, so a
    token-weighted loss became a mean of batch means. This one keeps the weights and never reads
    its inputs back; a NaN loss shows in the mean.
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = None
    total: Tensor
    weight: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.add_state("total", default=torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("weight", default=torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, value: Tensor | float, weight: Tensor | float = 1.0) -> None:
        value = torch.as_tensor(value, device=self.device).to(self.dtype)
        weights = torch.as_tensor(weight, device=self.device).to(self.dtype).broadcast_to(value.shape)
        self.total += (value * weights).sum()
        self.weight += weights.sum()

    def compute(self) -> Tensor:
        return self.total / self.weight


def running_mean() -> WeightedMean:
    """A DDP-synchronised weighted mean that never reads its inputs back to the host."""
    return WeightedMean()


def mean_at(means: nn.ModuleDict, key: str) -> WeightedMean:
    """``means[key]`` typed as the running mean it is (``nn.ModuleDict`` items type as ``Module``)."""
    return cast(WeightedMean, means[key])
