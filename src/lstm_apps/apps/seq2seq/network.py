"""The translator's network, a plain ``nn.Module``: a bidirectional stacked encoder, a bridge and
an attention decoder (Luong et al. 2015 / OpenNMT's RNN models) with batched greedy and beam
search. Built, run and exported without Lightning; ``Seq2SeqModel`` trains it."""

from __future__ import annotations

import torch
from torch import nn

from lstm_apps.bounds import Dropout, Positive
from lstm_apps.core.attention import AttentionType
from lstm_apps.core.attention_decoder import AttentionDecoder, DecoderState, StateBridge
from lstm_apps.core.beam_search import Hypothesis
from lstm_apps.core.recurrent import CellType, RecurrentBlock


class Seq2SeqNetwork(nn.Module):
    """Source ids -> encoder memory -> teacher-forced logits, or searched hypotheses."""

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        pad_id: int,
        embedding_dim: Positive = 64,
        hidden_size: Positive = 128,
        encoder_layers: Positive = 1,
        decoder_layers: Positive = 1,
        bidirectional: bool = True,
        cell: CellType = "lstm",
        attention: AttentionType = "general",
        input_feeding: bool = False,
        tie_embeddings: bool = False,
        dropout: Dropout = 0.1,
    ) -> None:
        super().__init__()
        self.src_embedding = nn.Embedding(src_vocab_size, embedding_dim, padding_idx=pad_id)
        self.encoder = RecurrentBlock(
            embedding_dim,
            hidden_size,
            num_layers=encoder_layers,
            cell=cell,
            bidirectional=bidirectional,
            dropout=dropout,
        )
        self.bridge = StateBridge(self.encoder.output_size, hidden_size, decoder_layers, cell)
        self.decoder = AttentionDecoder(
            tgt_vocab_size,
            embedding_dim,
            hidden_size,
            self.encoder.output_size,
            num_layers=decoder_layers,
            cell=cell,
            attention=attention,
            dropout=dropout,
            input_feeding=input_feeding,
            tie_embeddings=tie_embeddings,
            padding_idx=pad_id,
        )
        self.dropout = nn.Dropout(dropout)

    def encode(
        self, src: torch.Tensor, src_lengths: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, DecoderState]:
        """Memory ``[B, S, D]``, its mask ``[B, S]`` and the decoder's initial state
        (``src_lengths=None``: no padding, as in exported graphs)."""
        memory, final = self.encoder(self.dropout(self.src_embedding(src)), src_lengths)
        h = self.encoder.hidden(final)
        directions = self.encoder.num_directions
        last_layer = h.reshape(self.encoder.num_layers, directions, h.size(1), h.size(2))[-1]
        summary = last_layer.transpose(0, 1).reshape(h.size(1), -1)
        if src_lengths is None:
            mask = torch.ones_like(src, dtype=torch.bool)
        else:
            positions = torch.arange(src.size(1), device=src.device).unsqueeze(0)
            mask = positions < src_lengths.to(src.device, non_blocking=True).unsqueeze(1)
        return memory, mask, DecoderState(self.bridge(summary), None)

    def forward(
        self, src: torch.Tensor, src_lengths: torch.Tensor | None, tgt_in: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced logits ``[B, T, V]`` and attention ``[B, T, S]``."""
        memory, mask, state = self.encode(src, src_lengths)
        logits, attention, _ = self.decoder(tgt_in, memory, mask, state)
        return logits, attention

    @torch.no_grad()
    def search(
        self,
        src: torch.Tensor,
        src_lengths: torch.Tensor,
        bos_id: int,
        eos_id: int,
        max_len: int,
        beam_size: int = 1,
        n_best: int = 1,
        alpha: float = 0.0,
    ) -> list[list[Hypothesis]]:
        """Best ``n_best`` hypotheses per source (greedy when ``beam_size`` is 1)."""
        memory, mask, state = self.encode(src, src_lengths)
        return self.decoder.search(
            memory, mask, state, bos_id, eos_id, max_len, beam_size=beam_size, n_best=n_best, alpha=alpha
        )
