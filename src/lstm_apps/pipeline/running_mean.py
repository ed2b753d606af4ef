"""The weighted running mean every app keeps of its losses."""

from __future__ import annotations

from typing import cast

from torch import nn
from torchmetrics import MeanMetric


def running_mean() -> MeanMetric:
    """A DDP-synchronised weighted mean that never reads its inputs back to the host.

    torchmetrics checks every update for NaN by default (``if isnan(x).any()``), which makes the
    host wait for the device on every step. A NaN loss then shows in the logged mean instead.
    """
    return MeanMetric(nan_strategy="disable")


def mean_at(means: nn.ModuleDict, key: str) -> MeanMetric:
    """``means[key]`` typed as the running mean it is (``nn.ModuleDict`` items type as ``Module``)."""
    return cast(MeanMetric, means[key])
