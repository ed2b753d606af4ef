"""The language model's network, a plain ``nn.Module``: embeddings -> core block -> tied softmax.

Built, run, exported and reused without Lightning; ``LanguageModel`` trains it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from lstm_apps.bounds import Count, Dropout, Positive
from lstm_apps.core.recurrent import CellType, RecurrentBlock, RecurrentState
from lstm_apps.core.sampling import select_next_token


class LanguageNetwork(nn.Module):
    """Word-language-model recipe: dropout around the recurrence and weight tying.

    When tying is asked for and the recurrent output size differs from the embedding size, a
    linear projection bridges them (as AWD-LSTM's last layer does) instead of dropping the tie.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: Positive = 256,
        hidden_size: Positive = 256,
        num_layers: Positive = 2,
        cell: CellType = "lstm",
        proj_size: Count = 0,
        dropout: Dropout = 0.2,
        embedding_dropout: Dropout = 0.1,
        output_dropout: Dropout = 0.2,
        tie_weights: bool = True,
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.rnn = RecurrentBlock(
            embedding_dim,
            hidden_size,
            num_layers=num_layers,
            cell=cell,
            dropout=dropout,
            proj_size=proj_size,
        )
        self.output_dropout = nn.Dropout(output_dropout)
        features = self.rnn.output_size
        self.bridge: nn.Module = nn.Identity()
        if tie_weights and features != embedding_dim:
            self.bridge = nn.Linear(features, embedding_dim)
            features = embedding_dim
        self.decoder = nn.Linear(features, vocab_size)
        if tie_weights:
            self.decoder.weight = self.embedding.weight
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(
        self, tokens: torch.Tensor, state: RecurrentState | None = None, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, RecurrentState]:
        """``tokens`` ``[B, T]`` -> logits ``[B, T, V]`` and the final recurrent state (with
        ``lengths``, the state after each row's last real token: rows of different lengths, packed)."""
        hidden, state = self.rnn(self.embedding_dropout(self.embedding(tokens)), lengths=lengths, state=state)
        return self.decoder(self.bridge(self.output_dropout(hidden))), state

    @torch.no_grad()
    def generate_steps(
        self,
        prompt_ids: torch.Tensor,
        *,
        lengths: torch.Tensor | None = None,
        greedy: bool = False,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> Iterator[torch.Tensor]:
        """The next token ids ``[B]`` after each row of ``prompt_ids`` ``[B, T]`` (right-padded
        to ``lengths``, if given), one batched step per ``next()``, for as long as asked."""
        logits, state = self(prompt_ids, lengths=lengths)
        if lengths is None:
            last = logits[:, -1]
        else:
            rows = torch.arange(prompt_ids.size(0), device=prompt_ids.device)
            last = logits[rows, lengths.to(prompt_ids.device) - 1]
        while True:
            step = select_next_token(
                last, greedy=greedy, temperature=temperature, top_k=top_k, top_p=top_p, generator=generator
            )
            yield step
            logits, state = self(step[:, None], state)
            last = logits[:, -1]

    @torch.no_grad()
    def generate(
        self,
        prompt_ids: torch.Tensor,
        max_new_tokens: int,
        *,
        lengths: torch.Tensor | None = None,
        **sampling: Any,
    ) -> torch.Tensor:
        """New token ids ``[B, max_new_tokens]`` continuing each row of ``prompt_ids`` ``[B, T]``,
        one batched step per token; ``sampling``: ``generate_steps``' ``greedy``, ``temperature``,
        ``top_k``, ``top_p``, ``generator``."""
        if max_new_tokens <= 0:
            return prompt_ids.new_zeros(prompt_ids.size(0), 0)
        steps = self.generate_steps(prompt_ids, lengths=lengths, **sampling)
        return torch.stack([next(steps) for _ in range(max_new_tokens)], dim=1)
