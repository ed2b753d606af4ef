"""The attention decoder shared by every encoder-decoder app (seq2seq, captioning).

Luong-style: embed the previous token, run the core block, attend over the memory with the new
hidden state, mix context and hidden state into the attentional vector ``h~ = tanh(W [c; h])``,
and predict the next token from it. With input feeding, ``h~`` of step t-1 is also an input at
step t, which forces a loop over time; without it, teacher forcing runs the whole target sequence
in one recurrent call and scores attention for all steps in one batched operation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lstm_apps.core.attention import AttentionType, GlobalAttention
from lstm_apps.core.beam_search import Hypothesis, beam_search, expand_index, greedy_search
from lstm_apps.core.recurrent import (
    CELLS_WITH_MEMORY,
    CellType,
    RecurrentBlock,
    RecurrentState,
    bridged,
    select_state,
)


@dataclass
class DecoderState:
    """Everything a decoding step carries to the next; reorderable along the batch for beam search."""

    recurrent: RecurrentState | None
    feed: torch.Tensor | None  # previous attentional vector [N, H] (input feeding only)

    def recurrent_state(self) -> RecurrentState:
        """``recurrent`` where it must be set, as in every state an encoder or a step makes."""
        if self.recurrent is None:
            raise ValueError("this decoder state has no recurrent state (None starts from zeros)")
        return self.recurrent

    def select(self, index: torch.Tensor) -> DecoderState:
        return DecoderState(
            select_state(self.recurrent, index) if self.recurrent is not None else None,
            self.feed.index_select(0, index) if self.feed is not None else None,
        )


class StateBridge(nn.Module):
    """Maps a summary vector ``[B, D]`` (encoder final states, mean image feature) to a decoder
    initial state for every layer: ``tanh(W x)`` for ``h`` (and a second map for the memory of an
    LSTM, sLSTM or mLSTM)."""

    def __init__(self, summary_size: int, hidden_size: int, num_layers: int, cell: CellType = "lstm") -> None:
        super().__init__()
        self.num_layers, self.hidden_size, self.cell = num_layers, hidden_size, cell
        self.to_h = nn.Linear(summary_size, num_layers * hidden_size)
        self.to_c = nn.Linear(summary_size, num_layers * hidden_size) if cell in CELLS_WITH_MEMORY else None

    def _layers(self, flat: torch.Tensor) -> torch.Tensor:
        return torch.tanh(flat).view(-1, self.num_layers, self.hidden_size).transpose(0, 1).contiguous()

    def forward(self, summary: torch.Tensor) -> RecurrentState:
        h = self._layers(self.to_h(summary))
        c = None if self.to_c is None else self._layers(self.to_c(summary))
        return bridged(self.cell, self.hidden_size, h, c)


class AttentionDecoder(nn.Module):
    """Embedding -> core block -> global attention -> attentional vector -> vocabulary logits."""

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int,
        hidden_size: int,
        memory_size: int,
        num_layers: int = 1,
        cell: CellType = "lstm",
        attention: AttentionType = "general",
        dropout: float = 0.2,
        input_feeding: bool = False,
        tie_embeddings: bool = False,
        padding_idx: int = 0,
        context_gate: bool = False,
    ) -> None:
        super().__init__()
        self.input_feeding = input_feeding
        # Show, Attend and Tell's gating scalar: the decoder decides how much context to use.
        self.context_gate = nn.Linear(hidden_size, 1) if context_gate else None
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        recurrent_input = embedding_dim + (hidden_size if input_feeding else 0)
        self.rnn = RecurrentBlock(
            recurrent_input, hidden_size, num_layers=num_layers, cell=cell, dropout=dropout
        )
        self.attention = GlobalAttention(hidden_size, memory_size, attention)
        self.combine = nn.Linear(hidden_size + memory_size, hidden_size, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.pre_output: nn.Module = nn.Identity()
        output_input = hidden_size
        if tie_embeddings and hidden_size != embedding_dim:
            self.pre_output = nn.Linear(hidden_size, embedding_dim, bias=False)
            output_input = embedding_dim
        self.output = nn.Linear(output_input, vocab_size)
        if tie_embeddings:
            self.output.weight = self.embedding.weight

    def _attend(
        self,
        hidden: torch.Tensor,
        memory: torch.Tensor,
        memory_mask: torch.Tensor | None,
        keys: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        context, weights = self.attention(hidden, memory, memory_mask, keys)
        if self.context_gate is not None:
            context = torch.sigmoid(self.context_gate(hidden)) * context
        attentional = torch.tanh(self.combine(torch.cat([context, hidden], dim=-1)))
        logits = self.output(self.pre_output(self.dropout(attentional)))
        return logits, weights, attentional

    def forward(
        self,
        tokens: torch.Tensor,
        memory: torch.Tensor,
        memory_mask: torch.Tensor | None,
        state: DecoderState,
    ) -> tuple[torch.Tensor, torch.Tensor, DecoderState]:
        """Teacher forcing over ``tokens`` ``[B, T]``: logits ``[B, T, V]``, attention ``[B, T, S]``."""
        if not self.input_feeding:
            hidden, recurrent = self.rnn(self.dropout(self.embedding(tokens)), state=state.recurrent)
            logits, weights, _ = self._attend(hidden, memory, memory_mask)
            return logits, weights, DecoderState(recurrent, None)
        keys = self.attention.prepare(memory)
        all_logits, all_weights = [], []
        for t in range(tokens.size(1)):
            logits, weights, state = self.step(tokens[:, t], memory, memory_mask, state, keys)
            all_logits.append(logits)
            all_weights.append(weights)
        return torch.stack(all_logits, 1), torch.stack(all_weights, 1), state

    def step(
        self,
        tokens: torch.Tensor,
        memory: torch.Tensor,
        memory_mask: torch.Tensor | None,
        state: DecoderState,
        keys: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, DecoderState]:
        """One step for ``tokens`` ``[N]``: logits ``[N, V]``, attention ``[N, S]``, next state.

        ``keys`` (``self.attention.prepare(memory)``) saves recomputing them at every step.
        """
        embedded = self.dropout(self.embedding(tokens)).unsqueeze(1)
        if self.input_feeding:
            feed = (
                state.feed if state.feed is not None else embedded.new_zeros(tokens.size(0), self.hidden_size)
            )
            embedded = torch.cat([embedded, feed.unsqueeze(1)], dim=-1)
        hidden, recurrent = self.rnn(embedded, state=state.recurrent)
        logits, weights, attentional = self._attend(hidden, memory, memory_mask, keys)
        feed = attentional.squeeze(1) if self.input_feeding else None
        return logits.squeeze(1), weights.squeeze(1), DecoderState(recurrent, feed)

    @torch.no_grad()
    def search(
        self,
        memory: torch.Tensor,
        memory_mask: torch.Tensor | None,
        state: DecoderState,
        bos: int,
        eos: int,
        max_len: int,
        beam_size: int = 1,
        n_best: int = 1,
        alpha: float = 0.0,
    ) -> list[list[Hypothesis]]:
        """Decode every memory of the batch: greedy (``beam_size`` 1) or batched beam search.

        Attention keys are computed once, and memory is expanded to batch x beam once; only the
        decoder state is reordered between steps.
        """
        batch = memory.size(0)
        keys = self.attention.prepare(memory)
        if beam_size == 1:

            def greedy_step(tokens: torch.Tensor, st: DecoderState):
                return self._log_probs(tokens, st, memory, memory_mask, keys)

            found = greedy_search(greedy_step, state, batch, bos, eos, max_len, device=memory.device)
            return [[h] for h in found]
        rows = expand_index(batch, beam_size, memory.device)
        memory_k, keys_k = memory.index_select(0, rows), keys.index_select(0, rows)
        mask_k = memory_mask.index_select(0, rows) if memory_mask is not None else None

        def beam_step(tokens: torch.Tensor, st: DecoderState):
            return self._log_probs(tokens, st, memory_k, mask_k, keys_k)

        return beam_search(
            beam_step,
            DecoderState.select,
            state.select(rows),
            batch,
            beam_size,
            bos,
            eos,
            max_len,
            alpha=alpha,
            n_best=n_best,
            device=memory.device,
        )

    def _log_probs(
        self,
        tokens: torch.Tensor,
        state: DecoderState,
        memory: torch.Tensor,
        memory_mask: torch.Tensor | None,
        keys: torch.Tensor,
    ) -> tuple[torch.Tensor, DecoderState, torch.Tensor]:
        logits, attention, state = self.step(tokens, memory, memory_mask, state, keys)
        return logits.float().log_softmax(-1), state, attention
