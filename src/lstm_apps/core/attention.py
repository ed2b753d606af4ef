"""Global attention over a memory (encoder outputs, image regions), batched over all query steps.

Scores (Luong et al. 2015; Bahdanau et al. 2015), for a query ``q`` and memory entries ``k``:

- ``dot``:      ``q · k``                                   (needs equal sizes)
- ``general``:  ``q · W k``
- ``concat``:   ``v · tanh(W [q; k])``                      (Luong's concat)
- ``additive``: ``v · tanh(W_q q + W_k k)``                 (Bahdanau's MLP score)

``concat`` and ``additive`` compute the same family of functions; they differ in
parametrisation (one matrix on the concatenation vs. separate projections with a bias), and both
are offered so that recipes from either paper can be reproduced as written.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

AttentionType = Literal["dot", "general", "concat", "additive"]


class GlobalAttention(nn.Module):
    """Attention weights and context for queries ``[B, Tq, Dq]`` over memory ``[B, S, Dm]``.

    ``memory_mask`` ``[B, S]`` is True at real (non-padded) positions; padded positions get weight 0.
    All ``Tq`` query steps are scored in one batched operation (the fast teacher-forcing path).
    """

    def __init__(
        self,
        query_size: int,
        memory_size: int,
        kind: AttentionType = "general",
        hidden_size: int | None = None,
    ) -> None:
        super().__init__()
        if kind not in ("dot", "general", "concat", "additive"):
            raise ValueError(f"attention must be one of dot, general, concat, additive; got {kind!r}")
        if kind == "dot" and query_size != memory_size:
            raise ValueError(
                f"dot attention needs equal sizes, got query {query_size} and memory {memory_size}"
            )
        self.kind = kind
        hidden = hidden_size or query_size
        if kind == "general":
            self.memory_projection = nn.Linear(memory_size, query_size, bias=False)
        elif kind == "concat":
            self.joint = nn.Linear(query_size + memory_size, hidden, bias=False)
            self.v = nn.Linear(hidden, 1, bias=False)
        elif kind == "additive":
            self.query_projection = nn.Linear(query_size, hidden, bias=True)
            self.memory_projection = nn.Linear(memory_size, hidden, bias=False)
            self.v = nn.Linear(hidden, 1, bias=False)

    def prepare(self, memory: torch.Tensor) -> torch.Tensor:
        """The query-independent part of the scores, computed once per memory (not per step)."""
        if self.kind == "dot":
            return memory
        if self.kind == "general":
            return self.memory_projection(memory)
        if self.kind == "concat":
            query_size = self.joint.in_features - memory.size(-1)
            return memory @ self.joint.weight[:, query_size:].t()
        return self.memory_projection(memory)

    def scores(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """Unnormalised scores ``[B, Tq, S]`` from queries and ``prepare(memory)``."""
        if self.kind in ("dot", "general"):
            return torch.bmm(query, keys.transpose(1, 2))
        if self.kind == "concat":
            # W [q; k] = W_q q + W_k k: never materialise the [B, Tq, S, Dq + Dm] concatenation.
            projected = query @ self.joint.weight[:, : query.size(-1)].t()
        else:
            projected = self.query_projection(query)
        return self.v(torch.tanh(projected.unsqueeze(2) + keys.unsqueeze(1))).squeeze(-1)

    def forward(
        self,
        query: torch.Tensor,
        memory: torch.Tensor,
        memory_mask: torch.Tensor | None = None,
        keys: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(context [B, Tq, Dm], weights [B, Tq, S])``; each weight row sums to 1.

        ``keys``: ``prepare(memory)`` when the caller decodes step by step over the same memory.
        """
        scores = self.scores(query, self.prepare(memory) if keys is None else keys).float()
        if memory_mask is not None:
            scores = scores.masked_fill(~memory_mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(scores, dim=-1).to(memory.dtype)
        return torch.bmm(weights, memory), weights
