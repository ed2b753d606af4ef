"""Where learning signal dies: the gradient of one position's loss with respect to each layer's
input ``k`` steps earlier, relative to ``k = 0`` — Hochreiter's vanishing-gradient analysis made a
curve per layer and direction.

The loss's own gradient at the block's output is injected at one *anchor* step per row (the last
step that receives any gradient for a forward direction, the first for a backward one) and carried
back through the replayed recurrence (``inspection/replay.py``) to the probes at every step's
input. For layers above the first, their input is the hidden state of the layer below.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lstm_apps.inspection.replay import BlockRecord


@dataclass
class SignalCurve:
    """One layer-direction's curve: ``relative[k]`` is the mean gradient norm ``k`` steps from the
    anchor divided by its value at the anchor (``NaN`` where no row reaches that far)."""

    block: str
    label: str  # "layer0", "layer1_backward", …
    relative: torch.Tensor  # [K]


def _anchors(delta_norms: torch.Tensor, lengths: torch.Tensor | None, backward: bool) -> torch.Tensor:
    """Per row, the last (forward) or first (backward) real step whose output gets a gradient;
    -1 where none does."""
    batch, steps = delta_norms.shape
    positions = torch.arange(steps, device=delta_norms.device).expand(batch, steps)
    live = delta_norms > 0
    if lengths is not None:
        live &= positions < lengths.to(delta_norms.device).unsqueeze(1)
    if backward:
        first = torch.where(live, positions, steps).amin(1)
        return torch.where(first < steps, first, -1)
    return torch.where(live, positions, -1).amax(1)


def _curve(grad_norms: torch.Tensor, anchors: torch.Tensor, backward: bool) -> torch.Tensor:
    """``grad_norms`` ``[B, T]`` as a function of the distance from each row's anchor, averaged
    over the rows that reach it, divided by the anchor's."""
    batch, steps = grad_norms.shape
    positions = torch.arange(steps, device=grad_norms.device).expand(batch, steps)
    distance = positions - anchors.unsqueeze(1) if backward else anchors.unsqueeze(1) - positions
    valid = (distance >= 0) & (anchors.unsqueeze(1) >= 0)
    sums = torch.zeros(steps, dtype=grad_norms.dtype, device=grad_norms.device)
    counts = torch.zeros_like(sums)
    sums.index_add_(0, distance[valid], grad_norms[valid])
    counts.index_add_(0, distance[valid], torch.ones_like(grad_norms[valid]))
    mean = sums / counts  # NaN where no row reaches
    return mean / mean[0] if mean.numel() and mean[0] > 0 else torch.full_like(mean, float("nan"))


def signal_curves(loss: torch.Tensor, records: list[BlockRecord]) -> list[SignalCurve]:
    """The curves of every layer-direction of every recorded block (``loss`` from the replayed
    forward pass; its graph is kept for the caller)."""
    curves: list[SignalCurve] = []
    for record in records:
        if not record.calls:
            continue
        outputs = [call.output for call in record.sequence_calls()]
        if not loss.requires_grad or not any(o.requires_grad for o in outputs):
            continue
        grads = torch.autograd.grad(loss, outputs, retain_graph=True, allow_unused=True)
        delta = torch.cat(
            [torch.zeros_like(o) if g is None else g for o, g in zip(outputs, grads, strict=True)], 1
        )
        lengths = record.lengths()
        norms = torch.linalg.vector_norm(delta, dim=-1)
        directions = record.directions()
        for backward in (False, True):
            indices = [i for i, d in enumerate(directions) if d.direction == int(backward)]
            if not indices:
                continue
            anchors = _anchors(norms, lengths, backward)
            if bool((anchors < 0).all()):
                continue
            # Each row's gradient at its anchor alone, as a unit vector.
            picked = torch.zeros_like(delta)
            rows = torch.nonzero(anchors >= 0).squeeze(1)
            at_anchor = delta[rows, anchors[rows]]
            picked[rows, anchors[rows]] = at_anchor / torch.linalg.vector_norm(
                at_anchor, dim=-1, keepdim=True
            )
            probes = [p for i in indices for p in record.probes(i)]
            injected = list(picked.split([o.size(1) for o in outputs], dim=1))
            reached = torch.autograd.grad(outputs, probes, injected, retain_graph=True, allow_unused=True)
            per_call = len(outputs)
            for n, index in enumerate(indices):
                parts = [
                    torch.zeros_like(p) if g is None else g
                    for p, g in zip(
                        probes[n * per_call : (n + 1) * per_call],
                        reached[n * per_call : (n + 1) * per_call],
                        strict=True,
                    )
                ]
                grad_norms = torch.linalg.vector_norm(torch.cat(parts, dim=1), dim=-1)
                curve = _curve(grad_norms.detach(), anchors, backward)
                curves.append(SignalCurve(record.name, directions[index].label, curve.cpu()))
    return curves


def steps_to_fall_below(relative: torch.Tensor, threshold: float) -> int | None:
    """The first distance ``k > 0`` at which the curve is below ``threshold`` (None: never, within
    the distances measured)."""
    below = torch.nonzero(relative[1:] < threshold)
    return None if below.numel() == 0 else int(below[0, 0]) + 1
