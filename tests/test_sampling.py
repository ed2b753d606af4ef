"""Token selection: greedy, temperature, top-k and nucleus filtering."""

from __future__ import annotations

import torch

from lstm_apps.core.sampling import filter_logits, select_next_token


def test_greedy_and_zero_temperature_take_argmax() -> None:
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5]])
    assert select_next_token(logits, greedy=True).tolist() == [1, 0]
    assert select_next_token(logits, temperature=0.0).tolist() == [1, 0]


def test_top_k_keeps_only_k_best() -> None:
    logits = torch.tensor([[1.0, 4.0, 3.0, 2.0]])
    kept = torch.isfinite(filter_logits(logits, top_k=2))
    assert kept.tolist() == [[False, True, True, False]]


def test_top_p_keeps_smallest_set_reaching_mass() -> None:
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    kept = torch.isfinite(filter_logits(probs.log(), top_p=0.75))
    assert kept.tolist() == [[True, True, False, False]]
    # The best token always survives, even with a tiny nucleus.
    assert torch.isfinite(filter_logits(probs.log(), top_p=0.01)).tolist() == [[True, False, False, False]]


def test_sampling_respects_filters_and_seed() -> None:
    logits = torch.zeros(1000, 6)
    logits[:, 4] = 1.0
    logits[:, 2] = 0.9
    draws = select_next_token(logits, top_k=2, generator=torch.Generator().manual_seed(0))
    assert set(draws.tolist()) == {2, 4}
    again = select_next_token(logits, top_k=2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(draws, again)


def test_low_temperature_concentrates_on_the_best_token() -> None:
    logits = torch.tensor([[1.0, 1.5, 0.5]]).repeat(500, 1)
    hot = select_next_token(logits, temperature=5.0, generator=torch.Generator().manual_seed(0))
    cold = select_next_token(logits, temperature=0.05, generator=torch.Generator().manual_seed(0))
    assert (cold == 1).float().mean() > 0.99
    assert (hot == 1).float().mean() < 0.6
