"""CTC decoding as batched tensor ops: greedy (best path) and a prefix beam search with optional
shallow fusion of an n-gram language model over the output units.

The beam search keeps, for every utterance and beam, a prefix's probability of ending in a blank
and in its last character (Graves 2012; Hannun et al. 2014). Each time step scores, at once for
all utterances, the ``K`` prefixes kept as they are and the ``K x C`` one-character extensions;
an extension that spells a prefix already kept is merged into it (prefixes are compared by two
polynomial hashes), and the best ``K`` go on. One loop over time, none over utterances or beams.
"""

from __future__ import annotations

from typing import Protocol

import torch

NEG_INF = float("-inf")
_PRIMES = (1_000_003, 998_244_353)
_MODULI = (2_147_483_647, 2_147_483_629)


class LanguageModel(Protocol):
    """What the beam search asks of a language model: log-probabilities ``[N, C]`` of every
    output unit after each of ``N`` prefixes, given by their last ``order - 1`` units (``[N, order-1]``,
    oldest first, 0 where the prefix is shorter)."""

    order: int

    def next_log_probs(self, context: torch.Tensor) -> torch.Tensor: ...


def greedy_search(log_probs: torch.Tensor, lengths: torch.Tensor, blank: int = 0) -> list[list[int]]:
    """The best path of each utterance with repeats merged and blanks removed: unit ids."""
    best = log_probs.argmax(-1)
    previous = torch.nn.functional.pad(best[:, :-1], (1, 0), value=blank)
    steps = torch.arange(best.size(1), device=best.device).unsqueeze(0)
    keep = (best != blank) & (best != previous) & (steps < lengths.to(best.device).unsqueeze(1))
    rows, kept = best.tolist(), keep.tolist()
    return [
        [unit for unit, k in zip(row, mask, strict=True) if k] for row, mask in zip(rows, kept, strict=True)
    ]


def prefix_beam_search(
    log_probs: torch.Tensor,
    lengths: torch.Tensor,
    beam_size: int,
    blank: int = 0,
    lm: LanguageModel | None = None,
    lm_weight: float = 0.5,
    lm_bonus: float = 0.0,
    n_best: int = 1,
) -> list[list[list[int]]]:
    """The ``n_best`` best prefixes of each utterance, best first: unit ids. ``log_probs`` ``[B, T, C]``; ``lengths``
    ``[B]`` (valid steps). With ``lm`` a prefix scores ``log P_ctc + lm_weight x log P_lm +
    lm_bonus x units`` (shallow fusion; the bonus offsets the LM's pull toward short outputs)."""
    device = log_probs.device
    batch, steps, units = log_probs.shape
    k = beam_size
    lengths = lengths.to(device)
    log_probs = log_probs.float()
    # The state of every (utterance, beam).
    blank_end = torch.full((batch, k), NEG_INF, device=device)
    blank_end[:, 0] = 0.0
    unit_end = torch.full((batch, k), NEG_INF, device=device)
    size = torch.zeros(batch, k, dtype=torch.long, device=device)
    last = torch.full((batch, k), blank, dtype=torch.long, device=device)
    hashes = torch.zeros(batch, k, 2, dtype=torch.long, device=device)
    lm_score = torch.zeros(batch, k, device=device)
    prefixes = torch.zeros(batch, k, max(steps, 1), dtype=torch.long, device=device)
    primes = torch.tensor(_PRIMES, device=device)
    moduli = torch.tensor(_MODULI, device=device)
    unit_ids = torch.arange(units, device=device)
    order = lm.order if lm is not None else 1
    for t in range(steps):
        step = log_probs[:, t]  # [B, C]
        total = torch.logaddexp(blank_end, unit_end)
        # Kept as they are: a blank, or the last unit repeated (merged by CTC).
        stay_blank = total + step[:, blank].unsqueeze(1)
        repeat = step.gather(1, last)
        stay_unit = torch.where(size > 0, unit_end + repeat, NEG_INF)
        # Extended by unit c: after a blank, or after a different unit.
        same = unit_ids.view(1, 1, units) == last.unsqueeze(2)
        base = torch.where(same, blank_end.unsqueeze(2), total.unsqueeze(2))
        extend_unit = base + step.unsqueeze(1)  # [B, K, C]
        extend_unit[:, :, blank] = NEG_INF
        extend_hash = (
            hashes.unsqueeze(2) * primes + unit_ids.view(1, 1, units, 1) + 1
        ) % moduli  # [B, K, C, 2]
        # An extension that spells a kept prefix joins it.
        alive = torch.isfinite(torch.logaddexp(stay_blank, stay_unit))
        match = (extend_hash.unsqueeze(3) == hashes.view(batch, 1, 1, k, 2)).all(-1)
        match &= alive.view(batch, 1, 1, k) & (size.view(batch, 1, 1, k) == size.view(batch, k, 1, 1) + 1)
        joined = torch.where(match, extend_unit.unsqueeze(3), NEG_INF).flatten(1, 2).logsumexp(1)
        stay_unit = torch.logaddexp(stay_unit, joined)
        extend_unit = extend_unit.masked_fill(match.any(3), NEG_INF)
        # Language model: every extension's next unit.
        extend_lm = lm_score.unsqueeze(2).expand(batch, k, units)
        if lm is not None:
            context = _contexts(prefixes, size, order - 1)
            extend_lm = extend_lm + lm.next_log_probs(context.view(batch * k, -1)).view(batch, k, units)
        stay_score = torch.logaddexp(stay_blank, stay_unit) + lm_weight * lm_score + lm_bonus * size
        extend_score = extend_unit + lm_weight * extend_lm + lm_bonus * (size + 1).unsqueeze(2)
        scores = torch.cat([stay_score, extend_score.flatten(1)], dim=1)  # [B, K + K*C]
        best = scores.topk(k, dim=1).indices
        extended = best >= k
        parent = torch.where(extended, torch.div(best - k, units, rounding_mode="floor"), best)
        unit = torch.where(extended, (best - k) % units, last.gather(1, parent))
        new_blank = torch.where(extended, NEG_INF, stay_blank.gather(1, parent))
        new_unit = torch.where(
            extended, extend_unit.flatten(1).gather(1, (best - k).clamp(min=0)), stay_unit.gather(1, parent)
        )
        new_size = size.gather(1, parent) + extended.long()
        new_hash = torch.where(
            extended.unsqueeze(2),
            extend_hash.flatten(1, 2).gather(1, (best - k).clamp(min=0).unsqueeze(2).expand(batch, k, 2)),
            hashes.gather(1, parent.unsqueeze(2).expand(batch, k, 2)),
        )
        new_lm = torch.where(
            extended, extend_lm.flatten(1).gather(1, (best - k).clamp(min=0)), lm_score.gather(1, parent)
        )
        new_prefixes = prefixes.gather(1, parent.unsqueeze(2).expand_as(prefixes))
        written = new_prefixes.scatter(
            2, size.gather(1, parent).clamp(max=steps - 1).unsqueeze(2), unit.unsqueeze(2)
        )
        new_prefixes = torch.where(extended.unsqueeze(2), written, new_prefixes)
        # Utterances already over keep their state.
        running = (t < lengths).view(batch, 1)
        blank_end = torch.where(running, new_blank, blank_end)
        unit_end = torch.where(running, new_unit, unit_end)
        size = torch.where(running, new_size, size)
        last = torch.where(running, unit, last)
        hashes = torch.where(running.unsqueeze(2), new_hash, hashes)
        lm_score = torch.where(running, new_lm, lm_score)
        prefixes = torch.where(running.unsqueeze(2), new_prefixes, prefixes)
    final = torch.logaddexp(blank_end, unit_end) + lm_weight * lm_score + lm_bonus * size
    ranked = final.topk(min(n_best, k), dim=1)
    finite = torch.isfinite(ranked.values).tolist()
    chosen = prefixes.gather(
        1, ranked.indices.unsqueeze(2).expand(batch, ranked.indices.size(1), prefixes.size(2))
    )
    sizes = size.gather(1, ranked.indices).tolist()
    return [
        [row[:n] for row, n, ok in zip(rows, counts, oks, strict=True) if ok]
        for rows, counts, oks in zip(chosen.tolist(), sizes, finite, strict=True)
    ]


def _contexts(prefixes: torch.Tensor, size: torch.Tensor, width: int) -> torch.Tensor:
    """The last ``width`` units of each prefix ``[B, K, width]``, 0 before its start."""
    batch, k, _ = prefixes.shape
    if width == 0:
        return torch.zeros(batch, k, 0, dtype=torch.long, device=prefixes.device)
    offsets = torch.arange(-width, 0, device=prefixes.device).view(1, 1, width)
    positions = size.unsqueeze(2) + offsets
    units = prefixes.gather(2, positions.clamp(min=0))
    return units.masked_fill(positions < 0, 0)
