"""Shared decoding: beam 1 = greedy, beam search = brute force where it must be exact, options."""

from __future__ import annotations

import itertools

import pytest
import torch

from lstm_apps.core.beam_search import beam_search, expand_index, greedy_search, length_penalty

EOS, BOS = 0, 1


class TableModel:
    """A tiny decoder whose next-token log-probs depend on (sentence, position, previous token)."""

    def __init__(self, batch_size: int, vocab: int, max_len: int, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.table = torch.randn(batch_size, max_len + 1, vocab, vocab, generator=g).mul(2).log_softmax(-1)
        self.table[..., BOS] = float("-inf")  # BOS is never generated

    def start(self, beam: int = 1) -> torch.Tensor:
        rows = expand_index(self.table.size(0), beam)
        return torch.stack([rows, torch.zeros_like(rows)], dim=1)  # state: (sentence, position)

    def step(self, tokens: torch.Tensor, state: torch.Tensor):
        log_probs = self.table[state[:, 0], state[:, 1], tokens]
        attention = torch.softmax(log_probs[:, :3], dim=-1)
        return log_probs, state + torch.tensor([0, 1]), attention

    @staticmethod
    def select(state: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return state.index_select(0, index)

    def score(self, b: int, sequence: tuple[int, ...]) -> float:
        total, prev = 0.0, BOS
        for t, token in enumerate(sequence):
            total += float(self.table[b, t, prev, token])
            prev = token
        return total


def brute_force(
    model: TableModel, b: int, vocab: int, max_len: int, alpha: float = 0.0
) -> tuple[list[int], float]:
    best, best_score = None, float("-inf")
    words = [v for v in range(vocab) if v not in (EOS, BOS)]
    for length in range(max_len + 1):
        for body in itertools.product(words, repeat=length):
            sequence = body + (EOS,) if length < max_len else body
            score = model.score(b, sequence) / float(length_penalty(torch.tensor(len(sequence)), alpha))
            if score > best_score:
                best, best_score = list(body), score
    return best, best_score


def run_beam(model: TableModel, beam: int, max_len: int, **kwargs):
    b = model.table.size(0)
    return beam_search(model.step, model.select, model.start(beam), b, beam, BOS, EOS, max_len, **kwargs)


def test_beam_of_one_equals_greedy() -> None:
    model = TableModel(batch_size=6, vocab=7, max_len=8, seed=3)
    greedy = greedy_search(model.step, model.start(1), 6, BOS, EOS, max_len=8)
    beam = run_beam(model, beam=1, max_len=8)
    for g, hyps in zip(greedy, beam, strict=True):
        assert g.tokens == hyps[0].tokens
        assert g.log_prob == pytest.approx(hyps[0].log_prob, abs=1e-5)
        torch.testing.assert_close(g.attention, hyps[0].attention)


@pytest.mark.parametrize("vocab,max_len,beam", [(4, 2, 4), (5, 2, 5), (4, 3, 16)])
def test_wide_beam_finds_the_brute_force_optimum(vocab: int, max_len: int, beam: int) -> None:
    """Exact when the beam can hold every live prefix: beam = |V| for two steps, |V|^2 for three."""
    model = TableModel(batch_size=5, vocab=vocab, max_len=max_len, seed=vocab + max_len)
    results = run_beam(model, beam=beam, max_len=max_len)
    for b, hyps in enumerate(results):
        tokens, score = brute_force(model, b, vocab, max_len)
        assert hyps[0].tokens == tokens
        assert hyps[0].log_prob == pytest.approx(score, abs=1e-5)


def test_length_penalty_is_applied_to_the_ranking() -> None:
    model = TableModel(batch_size=4, vocab=4, max_len=3, seed=11)
    results = run_beam(model, beam=16, max_len=3, alpha=1.0, n_best=3)
    for b, hyps in enumerate(results):
        tokens, score = brute_force(model, b, 4, 3, alpha=1.0)
        assert hyps[0].tokens == tokens and hyps[0].score == pytest.approx(score, abs=1e-5)
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        assert len(hyps) == 3


def test_min_length_and_max_length() -> None:
    model = TableModel(batch_size=3, vocab=6, max_len=6, seed=5)
    for hyps in run_beam(model, beam=3, max_len=6, min_len=4):
        assert len(hyps[0].tokens) >= 4
    for hyps in run_beam(model, beam=3, max_len=2):
        assert len(hyps[0].tokens) <= 2


def test_search_stops_when_every_beam_has_finished() -> None:
    calls = []

    def always_eos(tokens, state):
        calls.append(1)
        log_probs = torch.full((tokens.size(0), 5), -10.0)
        log_probs[:, EOS] = 0.0
        return log_probs, state, None

    results = beam_search(always_eos, lambda s, i: s, None, 2, 3, BOS, EOS, max_len=50)
    assert len(calls) <= 2
    assert results[0][0].tokens == []
