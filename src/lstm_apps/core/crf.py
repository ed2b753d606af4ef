"""Linear-chain CRF over per-token emission scores (Lafferty et al. 2001; Lample et al. 2016).

The forward algorithm and Viterbi run over the whole batch with one loop over time; padded
positions carry the running scores through unchanged, so sequences of any lengths share a batch.
Optional transition constraints (from ``text/tag_schemes.py``) make illegal tag sequences, such as
``O -> I-PER`` in IOB2, impossible in decoding and absent from the partition function.
"""

from __future__ import annotations

import torch
from torch import nn

# Added to the score of a forbidden transition. Finite (not -inf) so that log-sum-exp and its
# gradient stay well defined; with emissions of ordinary size it can never win a max.
FORBIDDEN = -10_000.0


class CRF(nn.Module):
    """Transition, start and end scores of ``num_tags`` tags.

    ``allowed``: ``[num_tags, num_tags]`` bool, ``allowed[i, j]`` when tag ``j`` may follow tag
    ``i``; ``allowed_start`` / ``allowed_end``: ``[num_tags]`` bool. ``None`` allows everything.

    Shapes: ``emissions [B, L, num_tags]``, ``mask [B, L]`` (True on real tokens, each row a
    prefix of at least one token), ``tags [B, L]``.
    """

    def __init__(
        self,
        num_tags: int,
        allowed: torch.Tensor | None = None,
        allowed_start: torch.Tensor | None = None,
        allowed_end: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
        self.start = nn.Parameter(torch.empty(num_tags))
        self.end = nn.Parameter(torch.empty(num_tags))
        # Constraints are rebuilt from the tag names, so they need not live in checkpoints.
        self.register_buffer("transition_penalty", _penalty(allowed, (num_tags, num_tags)), persistent=False)
        self.register_buffer("start_penalty", _penalty(allowed_start, (num_tags,)), persistent=False)
        self.register_buffer("end_penalty", _penalty(allowed_end, (num_tags,)), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for param in (self.transitions, self.start, self.end):
            nn.init.uniform_(param, -0.1, 0.1)

    def _scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (
            self.transitions + self.transition_penalty,
            self.start + self.start_penalty,
            self.end + self.end_penalty,
        )

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``log Z`` per sequence ``[B]``: the forward algorithm."""
        emissions = emissions.float()
        transitions, start, end = self._scores()
        alpha = start + emissions[:, 0]
        for t in range(1, emissions.size(1)):
            step = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t : t + 1], step, alpha)
        return torch.logsumexp(alpha + end, dim=1)

    def sequence_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unnormalised score of the given tag sequences ``[B]``."""
        emissions = emissions.float()
        transitions, start, end = self._scores()
        real = mask.to(emissions.dtype)
        tags = tags.masked_fill(~mask, 0)
        emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)
        score = start[tags[:, 0]] + (emitted * real).sum(1)
        if tags.size(1) > 1:
            score = score + (transitions[tags[:, :-1], tags[:, 1:]] * real[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1) - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
        return score + end[last]

    def negative_log_likelihood(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """``log Z - score(tags)`` per sequence ``[B]``."""
        return self.log_partition(emissions, mask) - self.sequence_score(emissions, tags, mask)

    @torch.no_grad()
    def viterbi(self, emissions: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Best tag sequences ``[B, L]`` (padded positions repeat the last real tag) and their scores ``[B]``."""
        emissions = emissions.float()
        transitions, start, end = self._scores()
        batch, length, num_tags = emissions.shape
        identity = torch.arange(num_tags, device=emissions.device).expand(batch, num_tags)
        score = start + emissions[:, 0]
        backpointers = []
        for t in range(1, length):
            best, previous = (score.unsqueeze(2) + transitions).max(dim=1)
            real = mask[:, t : t + 1]
            score = torch.where(real, best + emissions[:, t], score)
            backpointers.append(torch.where(real, previous, identity))
        score = score + end
        best_score, last = score.max(dim=1)
        path = [last]
        for pointers in reversed(backpointers):
            last = pointers.gather(1, last.unsqueeze(1)).squeeze(1)
            path.append(last)
        path.reverse()
        return torch.stack(path, dim=1), best_score


def _penalty(allowed: torch.Tensor | None, shape: tuple[int, ...]) -> torch.Tensor:
    if allowed is None:
        return torch.zeros(shape)
    if tuple(allowed.shape) != shape:
        raise ValueError(f"constraint mask has shape {tuple(allowed.shape)}, expected {shape}")
    return torch.where(allowed.bool(), 0.0, FORBIDDEN)
