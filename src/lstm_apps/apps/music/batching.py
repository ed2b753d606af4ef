"""Piano rolls as training batches: every frame of a piece is a target, the first one predicted
from a silent start frame, so the NLL per time step counts each step of each piece (the JSB
protocol) rather than all but the first."""

from __future__ import annotations

import numpy as np
import torch


def roll_batch(rolls: list[np.ndarray]) -> dict[str, torch.Tensor]:
    """``inputs`` ``[B, T, 88]`` (a silent frame, then each piece but its last frame), ``targets``
    ``[B, T, 88]`` (each piece), ``lengths`` ``[B]`` on the host and ``mask`` ``[B, T]`` (the real
    steps); pieces are right-padded with silence to the longest."""
    longest = max(len(roll) for roll in rolls)
    targets = torch.zeros(len(rolls), longest, rolls[0].shape[1])
    for row, roll in enumerate(rolls):
        targets[row, : len(roll)] = torch.from_numpy(roll.astype(np.float32))
    inputs = torch.cat([torch.zeros_like(targets[:, :1]), targets[:, :-1]], dim=1)
    lengths = torch.tensor([len(roll) for roll in rolls])
    mask = (torch.arange(longest)[None, :] < lengths[:, None]).float()
    return {"inputs": inputs, "targets": targets, "lengths": lengths, "mask": mask}
