"""The captioner's network, a plain ``nn.Module`` (Show, Attend and Tell): a CNN feature grid,
an initial state from the mean feature, and a soft-attention decoder with a gating scalar on the
attended context. Built, run and exported without Lightning; ``CaptionModel`` trains it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import torch
from torch import nn

from lstm_apps.bounds import Dropout, KeysOf, Positive
from lstm_apps.core.attention import AttentionType
from lstm_apps.core.attention_decoder import AttentionDecoder, DecoderState, StateBridge
from lstm_apps.core.beam_search import Hypothesis
from lstm_apps.core.image_encoder import ImageEncoder
from lstm_apps.core.recurrent import CellType


class CaptionNetwork(nn.Module):
    """Images ``[B, 3, H, W]`` -> region features -> teacher-forced logits, or searched captions.
    ``encoder``: the ``ImageEncoder`` settings (backbone, grid size, trainable blocks …)."""

    def __init__(
        self,
        vocab_size: int,
        pad_id: int,
        encoder: Annotated[Mapping[str, Any] | None, KeysOf(ImageEncoder)] = None,
        embedding_dim: Positive = 64,
        hidden_size: Positive = 256,
        num_layers: Positive = 1,
        cell: CellType = "lstm",
        attention: AttentionType = "additive",
        context_gate: bool = True,
        dropout: Dropout = 0.3,
    ) -> None:
        super().__init__()
        self.encoder = ImageEncoder(**dict(encoder or {}))
        features = self.encoder.output_size
        self.bridge = StateBridge(features, hidden_size, num_layers, cell)
        self.decoder = AttentionDecoder(
            vocab_size,
            embedding_dim,
            hidden_size,
            features,
            num_layers=num_layers,
            cell=cell,
            attention=attention,
            dropout=dropout,
            padding_idx=pad_id,
            context_gate=context_gate,
        )

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, DecoderState]:
        """Region features ``[B, R, D]`` and the decoder's initial state."""
        memory = self.encoder(images)
        return memory, DecoderState(self.bridge(memory.mean(dim=1)), None)

    def forward(self, images: torch.Tensor, tgt_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced logits ``[B, T, V]`` and attention over regions ``[B, T, R]``."""
        memory, state = self.encode(images)
        logits, attention, _ = self.decoder(tgt_in, memory, None, state)
        return logits, attention

    @torch.no_grad()
    def search(
        self,
        images: torch.Tensor,
        bos_id: int,
        eos_id: int,
        max_len: int,
        beam_size: int = 1,
        n_best: int = 1,
        alpha: float = 0.0,
    ) -> list[list[Hypothesis]]:
        """Best ``n_best`` captions per image (greedy when ``beam_size`` is 1)."""
        memory, state = self.encode(images)
        return self.decoder.search(
            memory, None, state, bos_id, eos_id, max_len, beam_size=beam_size, n_best=n_best, alpha=alpha
        )
