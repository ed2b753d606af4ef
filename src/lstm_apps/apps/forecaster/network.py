"""The forecaster's network, a plain ``nn.Module``: a recurrent encoder over the input window and
a multi-step head. Built, run and exported without Lightning; ``ForecasterModel`` trains it."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from lstm_apps.bounds import Dropout, Positive
from lstm_apps.core.recurrent import CellType, RecurrentBlock


class ForecastNetwork(nn.Module):
    """``head``: ``direct`` (one linear map from the encoder's last state to all ``horizon`` steps)
    or ``seq2seq`` (a decoder RNN started from the encoder's state, unrolled over the horizon with
    each step's calendar features and a learned step embedding as input: no feedback of its own
    predictions, so all steps run in one batched call). ``outputs``: values per step and variable
    (the quantiles, or 1). ``relative``: windows are expressed relative to their last input value,
    so a trend that takes the series beyond the training range stays learnable."""

    def __init__(
        self,
        variables: int,
        calendar_size: int,
        horizon: int,
        outputs: int = 1,
        head: Literal["direct", "seq2seq"] = "direct",
        hidden_size: Positive = 64,
        num_layers: Positive = 2,
        cell: CellType = "lstm",
        dropout: Dropout = 0.1,
        relative: bool = True,
        step_embedding_dim: Positive = 8,
    ) -> None:
        super().__init__()
        self.variables, self.calendar_size, self.horizon = variables, calendar_size, horizon
        self.outputs, self.head, self.relative = outputs, head, relative
        self.encoder = RecurrentBlock(
            variables + calendar_size, hidden_size, num_layers, cell, dropout=dropout
        )
        if head == "direct":
            self.project = nn.Linear(hidden_size, horizon * variables * outputs)
        else:
            self.step_embedding = nn.Embedding(horizon, step_embedding_dim)
            self.decoder = RecurrentBlock(
                step_embedding_dim + calendar_size, hidden_size, num_layers, cell, dropout=dropout
            )
            self.project = nn.Linear(hidden_size, variables * outputs)
        self.dropout = nn.Dropout(dropout)

    def forward(self, inputs: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
        """Scaled forecasts ``[B, horizon, V, Q]`` from ``inputs [B, context, V + K]`` and the
        forecast steps' calendar ``future [B, horizon, K]``."""
        values = inputs[..., : self.variables]
        anchor = values[:, -1:, :] if self.relative else torch.zeros_like(values[:, -1:, :])
        encoded, state = self.encoder(torch.cat([values - anchor, inputs[..., self.variables :]], dim=-1))
        batch = inputs.size(0)
        if self.head == "direct":
            out = self.project(self.dropout(encoded[:, -1]))
        else:
            steps = self.step_embedding.weight.unsqueeze(0).expand(batch, -1, -1)
            decoded, _ = self.decoder(torch.cat([steps, future.to(steps.dtype)], dim=-1), state=state)
            out = self.project(self.dropout(decoded))
        return out.reshape(batch, self.horizon, self.variables, self.outputs) + anchor.unsqueeze(-1)
