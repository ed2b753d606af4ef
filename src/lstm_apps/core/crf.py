"""Linear-chain CRF over per-token emission scores (Lafferty et al. 2001; Lample et al. 2016).

Two ways to run the forward algorithm and Viterbi, chosen by ``algorithm``:

- ``tree``: products of per-position ``[K, K]`` score matrices in a semiring (log-sum-exp for
  ``log Z``, max for Viterbi), reduced as a balanced tree: ``log2(L)`` batched steps, so the
  number of operator launches does not grow with sentence length. Padded positions are identity
  matrices. It does ``K`` times more arithmetic than the recursion, which a GPU absorbs — a small
  tagger there is bound by launches — but a CPU does not.
- ``sequential``: the textbook recursion over positions, one batched step per position, with
  padded positions carrying the running scores through unchanged. Least arithmetic: the CPU's
  choice.

``auto`` (the default) takes ``tree`` for tensors on an accelerator and ``sequential`` on the CPU.
Both are exact and give the same results.
Optional transition constraints (from ``apps/tagger/tag_schemes.py``) make illegal tag sequences, such as
``O -> I-PER`` in IOB2, impossible in decoding and absent from the partition function.
"""

from __future__ import annotations

import typing
from typing import Literal

import torch
from torch import nn

# Added to the score of a forbidden transition. Finite (not -inf) so that log-sum-exp and its
# gradient stay well defined; with emissions of ordinary size it can never win a max.
FORBIDDEN = -10_000.0
# The "minus infinity" of the semiring identity: finite, so no NaN appears in gradients, and so
# far below any real path score that exp() of it is exactly 0.
_NEVER = -1e9

Scores = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # transitions [K, K], start [K], end [K]
# allowed [K, K], allowed_start [K], allowed_end [K]; None allows everything.
Constraints = tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]


CrfAlgorithm = Literal["auto", "tree", "sequential"]
ALGORITHMS: tuple[str, ...] = typing.get_args(CrfAlgorithm)


class CRF(nn.Module):
    """Transition, start and end scores of ``num_tags`` tags; ``algorithm``: see the module docstring.

    ``allowed``: ``[num_tags, num_tags]`` bool, ``allowed[i, j]`` when tag ``j`` may follow tag
    ``i``; ``allowed_start`` / ``allowed_end``: ``[num_tags]`` bool. ``None`` allows everything.

    Shapes: ``emissions [B, L, num_tags]``, ``mask [B, L]`` (True on real tokens, each row a
    prefix of at least one token), ``tags [B, L]``.
    """

    # Buffers (registered in __init__).
    transition_penalty: torch.Tensor
    start_penalty: torch.Tensor
    end_penalty: torch.Tensor
    identity: torch.Tensor

    def __init__(
        self,
        num_tags: int,
        allowed: torch.Tensor | None = None,
        allowed_start: torch.Tensor | None = None,
        allowed_end: torch.Tensor | None = None,
        algorithm: CrfAlgorithm = "auto",
    ) -> None:
        super().__init__()
        if algorithm not in ALGORITHMS:
            raise ValueError(f"CRF algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
        self.num_tags = num_tags
        self.algorithm = algorithm
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
        self.start = nn.Parameter(torch.empty(num_tags))
        self.end = nn.Parameter(torch.empty(num_tags))
        # Constraints are rebuilt from the tag names, so they need not live in checkpoints.
        self.register_buffer("transition_penalty", _penalty(allowed, (num_tags, num_tags)), persistent=False)
        self.register_buffer("start_penalty", _penalty(allowed_start, (num_tags,)), persistent=False)
        self.register_buffer("end_penalty", _penalty(allowed_end, (num_tags,)), persistent=False)
        identity = torch.full((num_tags, num_tags), _NEVER).fill_diagonal_(0.0)
        self.register_buffer("identity", identity, persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for param in (self.transitions, self.start, self.end):
            nn.init.uniform_(param, -0.1, 0.1)

    def _scores(self) -> Scores:
        """Transition, start and end scores with the constraints' penalties added (computed once
        per call of the public methods: each addition is an operator launch)."""
        return (
            self.transitions + self.transition_penalty,
            self.start + self.start_penalty,
            self.end + self.end_penalty,
        )

    def _tree(self, emissions: torch.Tensor) -> bool:
        return self.algorithm == "tree" or (self.algorithm == "auto" and emissions.device.type != "cpu")

    def _position_matrices(self, emissions: torch.Tensor, mask: torch.Tensor, scores: Scores) -> torch.Tensor:
        """``M [B, P, K, K]`` with ``P`` = L rounded up to a power of two: ``M[b, t, i, j]`` scores
        tag ``i`` at ``t - 1`` followed by tag ``j`` at ``t``. Position 0 has the start scores in
        every row (there is no previous tag), positions past a sentence's end are the identity."""
        transitions, start, _ = scores
        batch, length, num_tags = emissions.shape
        padded = 1 << max(length - 1, 0).bit_length()
        emissions = nn.functional.pad(emissions.float(), (0, 0, 0, padded - length))
        real = nn.functional.pad(mask, (0, padded - length)).view(batch, padded, 1, 1)
        entering = torch.cat([start.expand(1, num_tags, num_tags), transitions.expand(padded - 1, -1, -1)])
        return torch.where(real, entering + emissions.unsqueeze(2), self.identity)

    def log_partition(
        self, emissions: torch.Tensor, mask: torch.Tensor, scores: Scores | None = None
    ) -> torch.Tensor:
        """``log Z`` per sequence ``[B]``: the forward algorithm."""
        scores = scores or self._scores()
        if not self._tree(emissions):
            return self._log_partition_sequential(emissions, mask, scores)
        matrices = self._position_matrices(emissions, mask, scores)
        while matrices.size(1) > 1:
            first, second = _halves(matrices)
            # [B, n, i, k, 1] + [B, n, 1, k, j], summed out over k (the tag between the halves).
            matrices = torch.logsumexp(first + second, dim=-2)
        # Every row of the product is the same (position 0 ignores the previous tag): take row 0.
        return torch.logsumexp(matrices[:, 0, 0] + scores[2], dim=1)

    def _log_partition_sequential(
        self, emissions: torch.Tensor, mask: torch.Tensor, scores: Scores
    ) -> torch.Tensor:
        transitions, start, end = scores
        emissions = emissions.float()
        alpha = start + emissions[:, 0]
        for t in range(1, emissions.size(1)):
            step = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t : t + 1], step, alpha)
        return torch.logsumexp(alpha + end, dim=1)

    def sequence_score(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor, scores: Scores | None = None
    ) -> torch.Tensor:
        """Unnormalised score of the given tag sequences ``[B]``."""
        emissions = emissions.float()
        transitions, start, end = scores or self._scores()
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
        scores = self._scores()
        return self.log_partition(emissions, mask, scores) - self.sequence_score(
            emissions, tags, mask, scores
        )

    @torch.no_grad()
    def viterbi(self, emissions: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Best tag sequences ``[B, L]`` (padded positions repeat the last real tag) and their scores ``[B]``.

        Up the tree, each max-semiring product keeps, per (first, last) tag pair, the best tag at the
        boundary between its halves; down the tree those boundary tags split every span in two, so
        all positions' tags come out after ``log2(L)`` batched gathers.
        """
        scores = self._scores()
        if not self._tree(emissions):
            return self._viterbi_sequential(emissions, mask, scores)
        batch, length, num_tags = emissions.shape
        matrices = self._position_matrices(emissions, mask, scores)
        boundaries = []
        while matrices.size(1) > 1:
            first, second = _halves(matrices)
            matrices, best_middle = (first + second).max(dim=-2)
            boundaries.append(best_middle.flatten(2))  # [B, n, first * K + last]
        best_score, last_tag = (matrices[:, 0, 0] + scores[2]).max(dim=1)
        # A span is known by the tags just before it and at its end: (before, end) per node.
        before = torch.zeros(batch, 1, dtype=torch.long, device=emissions.device)
        end = last_tag.unsqueeze(1)
        for best_middle in reversed(boundaries):
            middle = best_middle.gather(2, (before * num_tags + end).unsqueeze(2)).squeeze(2)
            before = torch.stack([before, middle], dim=2).flatten(1)
            end = torch.stack([middle, end], dim=2).flatten(1)
        return end[:, :length], best_score

    def _viterbi_sequential(
        self, emissions: torch.Tensor, mask: torch.Tensor, scores: Scores
    ) -> tuple[torch.Tensor, torch.Tensor]:
        transitions, start, end = scores
        emissions = emissions.float()
        batch, length, num_tags = emissions.shape
        identity = torch.arange(num_tags, device=emissions.device).expand(batch, num_tags)
        score = start + emissions[:, 0]
        backpointers = []
        for t in range(1, length):
            best, previous = (score.unsqueeze(2) + transitions).max(dim=1)
            real = mask[:, t : t + 1]
            score = torch.where(real, best + emissions[:, t], score)
            backpointers.append(torch.where(real, previous, identity))
        best_score, last = (score + end).max(dim=1)
        path = [last]
        for pointers in reversed(backpointers):
            last = pointers.gather(1, last.unsqueeze(1)).squeeze(1)
            path.append(last)
        path.reverse()
        return torch.stack(path, dim=1), best_score


def _halves(matrices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Neighbouring matrices ``[B, 2n, K, K]`` as ``[B, n, K, K, 1]`` (first of each pair) and
    ``[B, n, 1, K, K]`` (second), ready to be combined over the shared middle tag."""
    batch, count, num_tags, _ = matrices.shape
    pairs = matrices.view(batch, count // 2, 2, num_tags, num_tags)
    first, second = pairs.unbind(2)
    return first.unsqueeze(-1), second.unsqueeze(-3)


def _penalty(allowed: torch.Tensor | None, shape: tuple[int, ...]) -> torch.Tensor:
    if allowed is None:
        return torch.zeros(shape)
    if tuple(allowed.shape) != shape:
        raise ValueError(f"constraint mask has shape {tuple(allowed.shape)}, expected {shape}")
    return torch.where(allowed.bool(), 0.0, FORBIDDEN)
