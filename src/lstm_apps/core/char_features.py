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
    """``chars [U, C]`` (character ids of ``U`` words, ``padding_idx`` after each word) and their
    ``lengths [U]`` (on the host, each at least 1) -> ``[U, output_size]``.

    Callers pass each *distinct* word of a batch once and gather the rows back into word slots
    (``distinct_word_chars`` prepares that on the host): a sentence batch repeats its frequent
    words many times, and padding slots cost nothing. Lengths from the host let the BiLSTM pack
    without reading anything back from the device.
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

    def forward(self, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        embedded = self.embedding(chars)
        if self.kind == "lstm":
            _, (h, _) = self.rnn(embedded, lengths)
            return torch.cat([h[-2], h[-1]], dim=1)
        features = self.conv(embedded.transpose(1, 2)).transpose(1, 2)
        positions = torch.arange(chars.size(1), device=chars.device)
        beyond = positions >= lengths.to(chars.device, non_blocking=True).unsqueeze(1)
        return features.masked_fill(beyond.unsqueeze(2), float("-inf")).amax(dim=1)


def distinct_word_chars(
    words: list[list[list[int]]], width: int, padding_idx: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Host-side preparation for ``CharFeatures``: ``words`` holds, per sentence, the character
    ids of each word. Returns the distinct words' ``chars [U, C]`` and ``lengths [U]``, and
    ``slots [B, width]``: the row of each word slot (padding slots point at row 0; their features
    are masked downstream). An empty word becomes one padding character."""
    rows: dict[tuple[int, ...], int] = {}
    slots = torch.zeros(len(words), width, dtype=torch.long)
    for sentence, word_chars in enumerate(words):
        ids = [rows.setdefault(tuple(chars) or (padding_idx,), len(rows)) for chars in word_chars]
        slots[sentence, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    distinct = list(rows) or [(padding_idx,)]
    lengths = torch.tensor([len(chars) for chars in distinct], dtype=torch.long)
    chars = torch.full((len(distinct), int(lengths.max())), padding_idx, dtype=torch.long)
    for row, word in enumerate(distinct):
        chars[row, : len(word)] = torch.tensor(word, dtype=torch.long)
    return chars, lengths, slots
