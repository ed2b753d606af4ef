"""One vector per sequence from the recurrent block's outputs: last state, mean, max or attention."""

from __future__ import annotations

import typing
from typing import Literal

import torch
from torch import nn

PoolingMode = Literal["last", "mean", "max", "attention"]
POOLING_MODES: tuple[str, ...] = typing.get_args(PoolingMode)


class SequencePooling(nn.Module):
    """Pools ``[B, T, D]`` outputs (padding beyond ``lengths``) into ``[B, D]``.

    - ``last``: the final state of each direction — the forward half at the last real step, the
      backward half (when ``directions == 2``) at step 0, where the backward pass ends.
    - ``mean`` / ``max``: over real steps only.
    - ``attention``: additive self-attention (Yang et al. 2016): ``softmax(v·tanh(W h_t))`` over
      real steps; the weights are returned so that people can see what the model looked at.
    """

    def __init__(self, mode: PoolingMode, size: int, directions: int = 1, attention_size: int = 64) -> None:
        super().__init__()
        if mode not in POOLING_MODES:
            raise ValueError(f"pooling must be one of {', '.join(POOLING_MODES)}, got {mode!r}")
        self.mode, self.directions = mode, directions
        if mode == "attention":
            self.project = nn.Linear(size, attention_size)
            self.score = nn.Linear(attention_size, 1, bias=False)

    def forward(
        self, outputs: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(pooled [B, D], attention weights [B, T] or None)``; ``lengths=None``: no padding."""
        batch, steps, _ = outputs.shape
        if lengths is None:
            lengths = torch.full((batch,), steps, dtype=torch.long, device=outputs.device)
        lengths = lengths.to(outputs.device, non_blocking=True)
        mask = torch.arange(steps, device=outputs.device).unsqueeze(0) < lengths.unsqueeze(1)
        if self.mode == "last":
            last = outputs[torch.arange(batch, device=outputs.device), lengths - 1]
            if self.directions == 1:
                return last, None
            half = outputs.size(-1) // 2
            return torch.cat([last[:, :half], outputs[:, 0, half:]], dim=-1), None
        if self.mode == "mean":
            summed = (outputs * mask.unsqueeze(-1)).sum(1)
            return summed / lengths.clamp(min=1).unsqueeze(1).to(outputs.dtype), None
        if self.mode == "max":
            return outputs.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1), None
        scores = self.score(torch.tanh(self.project(outputs))).squeeze(-1).float()
        weights = scores.masked_fill(~mask, float("-inf")).softmax(-1)
        return torch.bmm(weights.unsqueeze(1).to(outputs.dtype), outputs).squeeze(1), weights
