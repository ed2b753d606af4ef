"""Per-word vectors built from characters, so unseen words still get a useful representation
(capitalisation, suffixes, digits): a char CNN with max-pooling (Ma & Hovy 2016) or the final
states of a character BiLSTM run through the core block (Lample et al. 2016)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from lstm_apps.core.recurrent import RecurrentBlock

CharFeatureKind = Literal["cnn", "lstm"]


class CharFeatures(nn.Module):
    """``chars [B, L, C]`` (character ids, ``padding_idx`` after each word) -> ``[B, L, output_size]``.

    Only real words are encoded: the ``B * L`` word slots are compacted to the words that have
    characters, so padding costs nothing and the BiLSTM runs packed over exact word lengths.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 30,
        output_size: int = 50,
        kind: CharFeatureKind = "cnn",
        kernel_size: int = 3,
        padding_idx: int = 0,
    ) -> None:
        super().__init__()
        if kind not in ("cnn", "lstm"):
            raise ValueError(f"char feature kind must be cnn or lstm, got {kind!r}")
        if kind == "lstm" and output_size % 2:
            raise ValueError(f"a char BiLSTM needs an even output_size, got {output_size}")
        self.kind = kind
        self.output_size = output_size
        self.padding_idx = padding_idx
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        if kind == "cnn":
            self.conv = nn.Conv1d(embedding_dim, output_size, kernel_size, padding=kernel_size // 2)
        else:
            self.rnn = RecurrentBlock(embedding_dim, output_size // 2, bidirectional=True)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        batch, words, width = chars.shape
        flat = chars.reshape(batch * words, width)
        char_mask = flat != self.padding_idx
        lengths = char_mask.sum(1)
        real = lengths > 0
        out = flat.new_zeros((batch * words, self.output_size), dtype=self.embedding.weight.dtype)
        if not bool(real.any()):
            return out.view(batch, words, self.output_size)
        chars_real, mask_real, lengths_real = flat[real], char_mask[real], lengths[real]
        embedded = self.embedding(chars_real)
        if self.kind == "cnn":
            features = self.conv(embedded.transpose(1, 2)).transpose(1, 2)
            features = features.masked_fill(~mask_real.unsqueeze(2), float("-inf")).max(dim=1).values
        else:
            _, (h, _) = self.rnn(embedded, lengths_real)
            features = torch.cat([h[-2], h[-1]], dim=1)
        out = out.to(features.dtype)
        out[real] = features
        return out.view(batch, words, self.output_size)
