"""The classifier's network, a plain ``nn.Module``: embeddings -> core block -> pooling -> logits.
Built, run and exported without Lightning; ``ClassifierModel`` trains it."""

from __future__ import annotations

import torch
from torch import nn

from lstm_apps.bounds import Dropout, Positive
from lstm_apps.core.pooling import PoolingMode, SequencePooling
from lstm_apps.core.recurrent import CellType, RecurrentBlock


class ClassifierNetwork(nn.Module):
    """``pooling``: last | mean | max | attention (whose weights are returned, to be shown)."""

    def __init__(
        self,
        vocab_size: int,
        num_labels: int,
        pad_id: int,
        embedding_dim: Positive = 128,
        hidden_size: Positive = 128,
        num_layers: Positive = 1,
        cell: CellType = "lstm",
        bidirectional: bool = True,
        pooling: PoolingMode = "attention",
        attention_size: Positive = 64,
        dropout: Dropout = 0.3,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.encoder = RecurrentBlock(embedding_dim, hidden_size, num_layers, cell, bidirectional, dropout)
        self.pooling = SequencePooling(
            pooling, self.encoder.output_size, self.encoder.num_directions, attention_size
        )
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(self.encoder.output_size, num_labels)

    def forward(
        self, tokens: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(logits [B, C], attention weights [B, L] or None)``."""
        encoded, _ = self.encoder(self.dropout(self.embedding(tokens)), lengths)
        pooled, weights = self.pooling(encoded, lengths)
        return self.output(self.dropout(pooled)), weights
