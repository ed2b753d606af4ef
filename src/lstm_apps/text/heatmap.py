"""Attention matrices as images TensorBoard can show (no plotting library needed)."""

from __future__ import annotations

import torch


def attention_heatmap(weights: torch.Tensor, cell: int = 12) -> torch.Tensor:
    """``[rows, cols]`` weights in [0, 1] -> ``[3, rows*cell, cols*cell]`` RGB image.

    Dark blue for 0 through yellow for the row maximum (per row, so weak rows stay readable);
    one square per (output step, input position) pair, rows top to bottom.
    """
    w = weights.float().clamp(min=0)
    w = w / w.amax(dim=1, keepdim=True).clamp(min=1e-8)
    low = torch.tensor([0.07, 0.04, 0.33]).view(3, 1, 1)
    high = torch.tensor([0.99, 0.91, 0.15]).view(3, 1, 1)
    image = low + (high - low) * w.unsqueeze(0)
    return image.repeat_interleave(cell, dim=1).repeat_interleave(cell, dim=2).clamp(0, 1)
