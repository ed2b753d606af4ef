"""Stacking, directions and lengths for the cells that are not torch's own (minGRU, minLSTM, sLSTM,
mLSTM): each supplies one layer in one direction over time-major steps; this class makes them a
stacked, optionally bidirectional recurrence called as torch's GRU is, with ``lengths`` instead of a
packed batch.

The state of every layer and direction is one flat vector of ``state_size`` features whose first
``hidden_size`` are the output ``h`` (``[L * D, B, state_size]``, layer-major, direction-minor),
so that beam search, truncated BPTT and decoders reorder, cut and read it as they do a GRU's.
A zero state is each cell's empty start.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def recurrence_dtype(x: torch.Tensor) -> torch.dtype:
    """The recurrences run in float32 whatever the autocast or input dtype, float64 inputs aside."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def reversed_time_major(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Each sequence of time-major ``x`` ``[T, B, F]`` reversed over its first ``lengths[i]`` steps."""
    if lengths is None:
        return x.flip(0)
    steps = torch.arange(x.size(0), device=x.device).unsqueeze(1)
    last = lengths.to(x.device).unsqueeze(0) - 1
    index = torch.where(steps <= last, last - steps, steps)
    return x.gather(0, index.unsqueeze(-1).expand_as(x))


def reverse_within_lengths(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Each sequence of ``x`` ``[B, T, F]`` in reverse order over its first ``lengths[i]`` steps (its
    padding stays where it is); its own inverse."""
    return reversed_time_major(x.transpose(0, 1), lengths).transpose(0, 1)


def last_real_step(outputs: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Each sequence's output ``[B, H]`` at its last real step of time-major ``outputs`` ``[T, B, H]``."""
    if lengths is None:
        return outputs[-1]
    index = (lengths.to(outputs.device) - 1).view(1, -1, 1).expand(1, -1, outputs.size(-1))
    return outputs.gather(0, index).squeeze(0)


class LayerStack(nn.Module):
    """Layers x directions of one cell, each with an input projection of ``projection_width``
    outputs (all its gates' inputs for a whole sequence in one product); subclasses say how one
    layer and direction runs (``run_direction``)."""

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bidirectional: bool,
        dropout: float,
        projection_width: int,
    ) -> None:
        super().__init__()
        self.cell = cell  # as ``model.cell`` spells it
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        # Layer-major, direction-minor. The int8 serving swap (core/recurrent.py) replaces these.
        self.projections = nn.ModuleList(
            nn.Linear(self.layer_inputs(layer), projection_width)
            for layer in range(num_layers)
            for _ in range(self.directions)
        )

    def linears(self) -> list[nn.Linear]:
        """The float projections, one per layer and direction (layer-major)."""
        return [p for p in self.projections if isinstance(p, nn.Linear)]

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def layer_inputs(self, layer: int) -> int:
        """Features entering ``layer``: the input's, then both directions' outputs."""
        return self.input_size if layer == 0 else self.hidden_size * self.directions

    @property
    def state_size(self) -> int:
        """Features of one layer's and direction's state; the first ``hidden_size`` are ``h``."""
        return self.hidden_size

    def run_direction(
        self,
        index: int,
        inputs: torch.Tensor,
        state: torch.Tensor | None,
        padded: torch.Tensor | None,
        lengths: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer-direction ``index`` over time-major ``inputs`` ``[T, B, F]`` from ``state``
        ``[B, state_size]`` (None: zeros); ``padded`` ``[T, B, 1]`` marks steps after each
        sequence's end, which must leave the state as it was. Returns the outputs ``[T, B, H]``
        and the final state ``[B, state_size]``, both in ``recurrence_dtype``."""
        raise NotImplementedError

    def forward(
        self, x: torch.Tensor, state: torch.Tensor | None = None, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        steps = x.size(1)
        padded = None
        if lengths is not None:  # [T, B, 1]
            padded = torch.arange(steps, device=x.device).unsqueeze(1) >= lengths.to(x.device).unsqueeze(0)
            padded = padded.unsqueeze(-1)
        finals = []
        # Time-major inside: each step's rows lie side by side in memory, for stepped recurrences.
        layer_input = x.transpose(0, 1).contiguous()
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.directions):
                index = layer * self.directions + direction
                inputs = layer_input if direction == 0 else reversed_time_major(layer_input, lengths)
                start = None if state is None else state[index].to(recurrence_dtype(x))
                states, final = self.run_direction(index, inputs, start, padded, lengths)
                # Padded steps come after the real ones in both directions.
                finals.append(final)
                outputs.append(states if direction == 0 else reversed_time_major(states, lengths))
            layer_output = torch.cat(outputs, dim=-1) if self.directions == 2 else outputs[0]
            if padded is not None:
                layer_output = layer_output.masked_fill(padded, 0.0)
            if not torch.is_autocast_enabled(x.device.type):
                layer_output = layer_output.to(x.dtype)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_output = F.dropout(layer_output, self.dropout, training=True)
            layer_input = layer_output
        return layer_input.transpose(0, 1).contiguous(), torch.stack(finals, dim=0)
