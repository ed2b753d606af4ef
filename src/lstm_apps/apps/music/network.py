"""The music network, a plain ``nn.Module``: piano-roll frames -> the core block -> a distribution
over the next frame's 88 keys.

``output="independent"``: one Bernoulli per key given the recurrent state (Chung et al. 2014's
set-up). ``output="joint"``: the keys of a frame modelled jointly, autoregressively from the lowest
key up (MADE, Germain et al. 2015, conditioned on the recurrent state, in the spirit of
Boulanger-Lewandowski et al.'s RNN-NADE): key k's logit reads the state and, through masked
layers, the keys below it in the same frame. Training reads the whole frame at once (the masks
keep each key from seeing itself or the keys above); sampling fills a frame key by key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from lstm_apps.apps.music.piano_roll import KEYS
from lstm_apps.bounds import Dropout, Positive
from lstm_apps.core.recurrent import CellType, RecurrentBlock, RecurrentState

FrameOutput = Literal["independent", "joint"]


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask (MADE's connectivity)."""

    mask: torch.Tensor

    def __init__(self, in_features: int, out_features: int, mask: torch.Tensor) -> None:
        super().__init__(in_features, out_features)
        self.register_buffer("mask", mask.float(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class JointFrame(nn.Module):
    """A one-hidden-layer MADE over the keys of a frame, added to the logits the recurrent state
    gives each key (its ``context``): ``logit_k = head(h)_k + V_k · relu(W x_<k + c)``, ``W`` and
    ``V`` masked so that key k reads only the keys below it in the frame."""

    def __init__(self, hidden_units: int) -> None:
        super().__init__()
        self.units = hidden_units
        # Hidden unit j may read keys < degree_j; output key k may read hidden units with degree <= k.
        degrees = torch.arange(hidden_units) % (KEYS - 1) + 1
        keys = torch.arange(KEYS)
        self.into = MaskedLinear(KEYS, hidden_units, (keys[None, :] < degrees[:, None]))
        self.out = MaskedLinear(hidden_units, KEYS, (degrees[None, :] <= keys[:, None]))

    def forward(self, context: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Logits ``[..., 88]`` of ``frames`` given their ``context`` (teacher forcing)."""
        return context + self.out(torch.relu(self.into(frames)))

    def decide(self, context: torch.Tensor, choose: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """A frame ``[..., 88]`` decided key by key from the lowest: ``choose`` turns key k's
        logit (given the keys chosen below it) into 0/1. The hidden layer's input grows by one
        key per step (a rank-one update) instead of being recomputed: 88 times less work than
        calling ``forward`` for every key."""
        w_in = self.into.weight * self.into.mask  # [H, 88]
        w_out = self.out.weight * self.out.mask  # [88, H]
        hidden = self.into.bias.expand(*context.shape[:-1], -1)
        frame = torch.zeros_like(context)
        for key in range(KEYS):  # key k's distribution needs the keys decided below it
            logit = context[..., key] + torch.relu(hidden) @ w_out[key] + self.out.bias[key]
            chosen = choose(logit)
            frame[..., key] = chosen
            hidden = hidden + chosen[..., None] * w_in[:, key]
        return frame


class PianoRollNetwork(nn.Module):
    """``frames [B, T, 88]`` (0/1) -> logits ``[B, T, 88]`` for the frame after each step."""

    def __init__(
        self,
        hidden_size: Positive = 256,
        num_layers: Positive = 2,
        cell: CellType = "lstm",
        input_size: Positive = 128,
        dropout: Dropout = 0.3,
        output: FrameOutput = "independent",
        joint_units: Positive = 256,
    ) -> None:
        super().__init__()
        self.output = output
        self.embed = nn.Linear(KEYS, input_size)
        self.rnn = RecurrentBlock(input_size, hidden_size, num_layers=num_layers, cell=cell, dropout=dropout)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.rnn.output_size, KEYS)
        self.joint = JointFrame(joint_units) if output == "joint" else None

    def context(
        self, frames: torch.Tensor, lengths: torch.Tensor | None = None, state: RecurrentState | None = None
    ) -> tuple[torch.Tensor, RecurrentState]:
        """Per step, what the state says of the next frame (its ``context``: each key's logit
        ``[B, T, 88]``; the joint output adds what the keys below say), and the final state."""
        hidden, state = self.rnn(torch.relu(self.embed(frames)), lengths=lengths, state=state)
        return self.head(self.dropout(hidden)), state

    def frame_logits(self, context: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The logits ``[..., 88]`` of ``targets`` given their ``context`` (``context``'s)."""
        return context if self.joint is None else self.joint(context, targets)

    def forward(
        self, frames: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits of ``targets`` (the next frames, ``[B, T, 88]``) given ``frames``; the joint
        output reads each target frame's lower keys through its masks (teacher forcing)."""
        return self.frame_logits(self.context(frames, lengths)[0], targets)

    @torch.no_grad()
    def sample_frame(
        self, context: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """One frame ``[B, 88]`` drawn given its ``context`` (a step of ``context()``'s): all keys
        at once (independent), or key by key from the lowest (joint)."""
        if self.joint is None:
            return torch.bernoulli(torch.sigmoid(context / temperature), generator=generator)
        return self.joint.decide(
            context, lambda logit: torch.bernoulli(torch.sigmoid(logit / temperature), generator=generator)
        )

    @torch.no_grad()
    def most_likely_frames(self, context: torch.Tensor) -> torch.Tensor:
        """The frames ``[..., 88]`` each key of which is on where it is more likely than not
        (joint: given the keys decided below it), from their ``context``."""
        if self.joint is None:
            return (context > 0).float()
        return self.joint.decide(context, lambda logit: (logit > 0).float())
