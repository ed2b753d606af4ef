"""One inspection of a model on one batch: its recurrent blocks replayed on the batch's training
loss, with the learning-signal curves and the per-layer numbers, ready to be written anywhere."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from lstm_apps.inspection.replay import BlockRecord, replaying
from lstm_apps.inspection.signal import SignalCurve, signal_curves
from lstm_apps.inspection.statistics import direction_statistics

# Distances at which the signal curve is also given as numbers (those within the sequence).
CURVE_SCALARS = (1, 4, 16, 64, 256)


@dataclass
class BatchInspection:
    records: list[BlockRecord]
    curves: list[SignalCurve]
    scalars: dict[str, float] = field(default_factory=dict)  # "inspect/<block>/<layer>/<name>" -> value


def inspect_batch(module: Any, batch: Any) -> BatchInspection:
    """Replay ``module``'s recurrent blocks (in eval mode: no dropout) on ``module.inspection_loss(batch)``;
    the module's mode comes back afterwards."""
    was_training = module.training
    module.eval()
    try:
        with torch.enable_grad(), replaying(module) as records:
            loss = module.inspection_loss(batch)
        curves = signal_curves(loss, records)
    finally:
        module.train(was_training)
    scalars: dict[str, float] = {}
    for record in records:
        if not record.calls:
            continue
        lengths = record.lengths()
        for trace in record.directions():
            for key, value in direction_statistics(trace, lengths).items():
                scalars[f"inspect/{record.name}/{trace.label}/{key}"] = value
    for curve in curves:
        for distance in CURVE_SCALARS:
            if distance < curve.relative.numel() and not math.isnan(float(curve.relative[distance])):
                scalars[f"inspect/{curve.block}/{curve.label}/signal_at_{distance}"] = float(
                    curve.relative[distance]
                )
    return BatchInspection([r for r in records if r.calls], curves, scalars)
