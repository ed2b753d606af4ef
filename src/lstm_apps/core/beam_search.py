"""Greedy and beam search over batch x beam in one tensor: one Python loop over time, none per
sentence or per beam. Shared by every app that decodes token sequences (seq2seq, captioning).

A decoder is given to the search as two functions:

- ``step(tokens [N], state) -> (log_probs [N, V], state, attention [N, S] | None)``, the attention
  None at every step for a decoder without attention
- ``select(state, index [N']) -> state``: pick/reorder rows (beam search only)

``state`` is anything ``select`` understands (the decoder state; memory that never changes
between beams of one sentence can stay outside it, expanded once with ``expand_index``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

StepFn = Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any, torch.Tensor | None]]
SelectFn = Callable[[Any, torch.Tensor], Any]


@dataclass
class Hypothesis:
    tokens: list[int]  # without BOS/EOS
    score: float  # log-probability divided by the length penalty (what hypotheses are ranked by)
    log_prob: float
    attention: torch.Tensor | None = None  # [len(tokens), S]


def expand_index(batch_size: int, beam_size: int, device: torch.device | None = None) -> torch.Tensor:
    """Row index that repeats each of ``batch_size`` rows ``beam_size`` times (b0 b0 b1 b1 …)."""
    return torch.arange(batch_size, device=device).repeat_interleave(beam_size)


def length_penalty(lengths: torch.Tensor, alpha: float) -> torch.Tensor:
    """GNMT length penalty ``((5 + |Y|) / 6) ** alpha``; 1 when ``alpha`` is 0."""
    if alpha == 0.0:
        return torch.ones_like(lengths, dtype=torch.float)
    return ((5.0 + lengths.float()) / 6.0) ** alpha


def greedy_search(
    step: StepFn,
    state: Any,
    batch_size: int,
    bos: int,
    eos: int,
    max_len: int,
    min_len: int = 0,
    device: torch.device | None = None,
) -> list[Hypothesis]:
    """Most likely token at every step, for the whole batch at once."""
    tokens = torch.full((batch_size,), bos, dtype=torch.long, device=device)
    done = torch.zeros(batch_size, dtype=torch.bool, device=device)
    log_prob = torch.zeros(batch_size, device=device)
    produced: list[torch.Tensor] = []
    attentions: list[torch.Tensor] = []  # empty when the decoder has no attention
    for t in range(max_len):
        log_probs, state, attention = step(tokens, state)
        log_probs = log_probs.float()
        if t < min_len:
            log_probs[:, eos] = float("-inf")
        best_score, best = log_probs.max(dim=-1)
        best = torch.where(done, torch.full_like(best, eos), best)
        log_prob += torch.where(done, torch.zeros_like(best_score), best_score)
        produced.append(best)
        if attention is not None:
            attentions.append(attention)
        done |= best == eos
        tokens = best
        if bool(done.all()):
            break
    sequences = torch.stack(produced, dim=1).tolist()
    attention_all = torch.stack(attentions, dim=1) if attentions else None
    hypotheses = []
    for b, sequence in enumerate(sequences):
        length = sequence.index(eos) if eos in sequence else len(sequence)
        attention = attention_all[b, :length] if attention_all is not None else None
        hypotheses.append(Hypothesis(sequence[:length], float(log_prob[b]), float(log_prob[b]), attention))
    return hypotheses


def beam_search(
    step: StepFn,
    select: SelectFn,
    state: Any,
    batch_size: int,
    beam_size: int,
    bos: int,
    eos: int,
    max_len: int,
    min_len: int = 0,
    alpha: float = 0.0,
    n_best: int = 1,
    device: torch.device | None = None,
) -> list[list[Hypothesis]]:
    """Batched beam search; ``state`` must already hold ``batch_size * beam_size`` rows.

    Finished hypotheses stay in the beam and can only be continued by EOS at no cost, so they
    compete with live ones until the end; candidates are ranked by log-probability divided by
    the GNMT length penalty of their own length. The search stops when every beam of every
    sentence has finished, or after ``max_len`` tokens.
    """
    k = beam_size
    n = batch_size * k
    tokens = torch.full((n,), bos, dtype=torch.long, device=device)
    scores = torch.zeros(batch_size, k, device=device)
    scores[:, 1:] = float("-inf")  # all beams start identical: expand only the first
    finished = torch.zeros(batch_size, k, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch_size, k, dtype=torch.long, device=device)
    offsets = (torch.arange(batch_size, device=device) * k).unsqueeze(1)
    history: list[torch.Tensor] = []
    backpointers: list[torch.Tensor] = []
    attentions: list[torch.Tensor] = []  # empty when the decoder has no attention
    for t in range(max_len):
        log_probs, state, attention = step(tokens, state)
        vocab = log_probs.size(-1)
        log_probs = log_probs.float().view(batch_size, k, vocab)
        if t < min_len:
            log_probs[..., eos] = float("-inf")
        # A finished hypothesis may only be continued by EOS, at no cost.
        eos_column = torch.where(finished, 0.0, log_probs[..., eos])
        log_probs.masked_fill_(finished.unsqueeze(-1), float("-inf"))
        log_probs[..., eos] = eos_column
        candidates = scores.unsqueeze(-1) + log_probs  # [B, K, V]
        ranked = candidates
        if alpha != 0.0:
            # Every candidate of a beam has the same length: one penalty per beam, broadcast.
            ranked = candidates / length_penalty(lengths + (~finished).long(), alpha).unsqueeze(-1)
        _, flat = ranked.view(batch_size, -1).topk(k, dim=-1)
        beam, token = flat // vocab, flat % vocab
        scores = candidates.view(batch_size, -1).gather(1, flat)
        was_finished = finished.gather(1, beam)
        lengths = lengths.gather(1, beam) + (~was_finished).long()
        finished = was_finished | (token == eos)
        rows = (beam + offsets).view(-1)
        state = select(state, rows)
        tokens = token.view(-1)
        history.append(token)
        backpointers.append(beam)
        if attention is not None:
            attentions.append(attention.view(batch_size, k, -1))
        if bool(finished.all()):
            break
    return _collect(history, backpointers, attentions, scores, lengths, alpha, n_best, eos)


def _collect(
    history: list[torch.Tensor],
    backpointers: list[torch.Tensor],
    attentions: list[torch.Tensor],
    scores: torch.Tensor,
    lengths: torch.Tensor,
    alpha: float,
    n_best: int,
    eos: int,
) -> list[list[Hypothesis]]:
    """Follow back-pointers (one loop over time) and rank the final beams."""
    batch_size, k = scores.shape
    steps = len(history)
    beam = torch.arange(k, device=scores.device).expand(batch_size, k)
    tokens = torch.empty(batch_size, k, steps, dtype=torch.long, device=scores.device)
    attention = None
    if attentions:
        attention = torch.empty(batch_size, k, steps, attentions[0].size(-1), device=scores.device)
    for t in range(steps - 1, -1, -1):
        tokens[:, :, t] = history[t].gather(1, beam)
        if attention is not None:
            # attention of step t belongs to the row that was *fed* at step t: the parent beam.
            parent = backpointers[t].gather(1, beam)
            attention[:, :, t] = attentions[t].gather(
                1, parent.unsqueeze(-1).expand(-1, -1, attention.size(-1))
            )
        beam = backpointers[t].gather(1, beam)
    normalised = scores / length_penalty(lengths, alpha)
    order = normalised.argsort(dim=1, descending=True)[:, :n_best]
    token_lists = tokens.tolist()
    results: list[list[Hypothesis]] = []
    for b in range(batch_size):
        ranked = []
        for j in order[b].tolist():
            sequence = token_lists[b][j][: int(lengths[b, j])]
            if sequence and sequence[-1] == eos:
                sequence = sequence[:-1]
            ranked.append(
                Hypothesis(
                    sequence,
                    float(normalised[b, j]),
                    float(scores[b, j]),
                    attention[b, j, : len(sequence)] if attention is not None else None,
                )
            )
        results.append(ranked)
    return results
