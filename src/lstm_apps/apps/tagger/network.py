"""The tagger's network, a plain ``nn.Module``: word + character features -> BiLSTM -> CRF or
softmax (Lample et al. 2016; Ma & Hovy 2016). Built, run and exported without Lightning;
``TaggerModel`` trains it."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from lstm_apps.apps.tagger.tag_schemes import allowed_transitions
from lstm_apps.bounds import Dropout, Positive
from lstm_apps.core.char_features import CharFeatureKind, CharFeatures
from lstm_apps.core.crf import CRF, Constraints, CrfAlgorithm
from lstm_apps.core.recurrent import CellType, RecurrentBlock


class TaggerNetwork(nn.Module):
    """``output``: ``crf`` (trained transitions, Viterbi) or ``softmax`` (per-token). With
    ``constrained`` the scheme's illegal transitions can never be decoded, in both outputs.
    ``char_features``: ``cnn`` | ``lstm`` | ``none``. ``word_dropout`` replaces training words by
    ``<unk>`` with that probability, so the network learns what to do with unseen words.
    ``crf_algorithm``: ``auto`` (a log-depth tree on a GPU, the position recursion on a CPU),
    ``tree`` or ``sequential``; see ``core/crf.py``."""

    def __init__(
        self,
        word_vocab_size: int,
        char_vocab_size: int,
        tags: list[str],
        scheme: str,
        pad_id: int,
        unk_id: int,
        word_dim: Positive = 100,
        char_features: CharFeatureKind | Literal["none"] = "cnn",
        char_dim: Positive = 30,
        char_size: Positive = 50,
        char_kernel: Positive = 3,
        hidden_size: Positive = 128,
        num_layers: Positive = 1,
        cell: CellType = "lstm",
        dropout: Dropout = 0.5,
        word_dropout: Dropout = 0.05,
        output: Literal["crf", "softmax"] = "crf",
        crf_algorithm: CrfAlgorithm = "auto",
        constrained: bool = True,
    ) -> None:
        super().__init__()
        self.pad_id, self.unk_id, self.word_dropout = pad_id, unk_id, word_dropout
        self.word_embedding = nn.Embedding(word_vocab_size, word_dim, padding_idx=pad_id)
        self.char_features = (
            CharFeatures(char_vocab_size, char_dim, char_size, char_features, char_kernel)
            if char_features != "none"
            else None
        )
        features = word_dim + (char_size if self.char_features is not None else 0)
        self.encoder = RecurrentBlock(
            features, hidden_size, num_layers, cell, bidirectional=True, dropout=dropout
        )
        self.dropout = nn.Dropout(dropout)
        self.emission = nn.Linear(self.encoder.output_size, len(tags))
        constraints: Constraints = (
            allowed_transitions(list(tags), scheme) if constrained else (None, None, None)
        )
        self.crf = CRF(len(tags), *constraints, algorithm=crf_algorithm) if output == "crf" else None
        # Softmax output with constraints: Viterbi over log-probabilities with fixed zero scores.
        self.constraint_decoder = (
            _frozen_constraints(len(tags), constraints) if output == "softmax" and constrained else None
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Emission scores ``[B, L, num_tags]``."""
        words = batch["words"]
        if self.training and self.word_dropout > 0:
            drop = (torch.rand(words.shape, device=words.device) < self.word_dropout) & (words != self.pad_id)
            words = words.masked_fill(drop, self.unk_id)
        features = [self.word_embedding(words)]
        if self.char_features is not None:
            per_word = self.char_features(batch["word_chars"], batch["word_char_lengths"])
            features.append(per_word[batch["char_slots"]])
        encoded, _ = self.encoder(self.dropout(torch.cat(features, dim=-1)), batch["lengths"])
        return self.emission(self.dropout(encoded))

    def loss(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per sentence (CRF) or per token (softmax)."""
        if self.crf is not None:
            return self.crf.negative_log_likelihood(emissions, tags, mask).mean()
        # Padding as ignore_index rather than emissions[mask]: boolean indexing has to read the
        # mask back from the device to size its result.
        return F.cross_entropy(
            emissions.float().transpose(1, 2), tags.masked_fill(~mask, -100), ignore_index=-100
        )

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Best tag ids ``[B, L]`` (values at padded positions are meaningless)."""
        if self.crf is not None:
            return self.crf.viterbi(emissions, mask)[0]
        if self.constraint_decoder is not None:
            return self.constraint_decoder.viterbi(emissions.float().log_softmax(-1), mask)[0]
        return emissions.argmax(-1)


def _frozen_constraints(num_tags: int, constraints: Constraints) -> CRF:
    decoder = CRF(num_tags, *constraints)
    for param in decoder.parameters():
        nn.init.zeros_(param)
        param.requires_grad_(False)
    return decoder
