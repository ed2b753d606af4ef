"""The CRF's forward algorithm and Viterbi equal brute-force enumeration; constraints hold."""

from __future__ import annotations

import itertools

import pytest
import torch

from lstm_apps.apps.tagger.tag_schemes import allowed_transitions, is_legal
from lstm_apps.core.crf import CRF
from lstm_apps.diagnostics.operator_calls import operator_calls

BIOES = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "E-LOC", "S-LOC"]
IOB2 = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


ALGORITHMS = ["tree", "sequential"]


def random_crf(tags: list[str], scheme: str | None, seed: int, algorithm: str = "auto") -> CRF:
    torch.manual_seed(seed)
    constraints = allowed_transitions(tags, scheme) if scheme else (None, None, None)
    crf = CRF(len(tags), *constraints, algorithm=algorithm)
    with torch.no_grad():
        for param in crf.parameters():
            param.normal_(0, 2)
    return crf


def brute_force(
    crf: CRF, emissions: torch.Tensor, length: int
) -> tuple[torch.Tensor, tuple[int, ...], float]:
    """log Z, the best sequence and its score, by scoring every tag sequence of ``length``."""
    scores = []
    mask = torch.ones(1, length, dtype=torch.bool)
    for tags in itertools.product(range(crf.num_tags), repeat=length):
        with torch.no_grad():
            score = crf.sequence_score(emissions[:length].unsqueeze(0), torch.tensor([tags]), mask)
        scores.append((float(score), tags))
    best_score, best = max(scores)
    return torch.logsumexp(torch.tensor([s for s, _ in scores]), 0), best, best_score


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(("tags", "scheme"), [(IOB2, None), (IOB2, "iob2"), (BIOES[:5], "bioes")])
def test_partition_and_viterbi_equal_brute_force_with_padding(
    tags: list[str], scheme: str | None, algorithm: str
) -> None:
    crf = random_crf(tags, scheme, seed=len(tags), algorithm=algorithm)
    lengths = torch.tensor([5, 2, 1, 3, 4])
    emissions = torch.randn(5, 5, len(tags)) * 2
    mask = torch.arange(5).unsqueeze(0) < lengths.unsqueeze(1)
    with torch.no_grad():
        log_z = crf.log_partition(emissions, mask)
    paths, path_scores = crf.viterbi(emissions, mask)
    for row, length in enumerate(lengths.tolist()):
        expected_z, best, best_score = brute_force(crf, emissions[row], length)
        assert log_z[row].item() == pytest.approx(expected_z.item(), abs=1e-4)
        assert tuple(paths[row, :length].tolist()) == best
        assert path_scores[row].item() == pytest.approx(best_score, abs=1e-4)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_padding_does_not_change_a_sentence_result(algorithm: str) -> None:
    crf = random_crf(IOB2, "iob2", seed=3, algorithm=algorithm)
    emissions = torch.randn(1, 3, len(IOB2))
    padded = torch.cat([emissions, torch.randn(1, 4, len(IOB2)) * 50], dim=1)
    mask = torch.tensor([[True] * 3 + [False] * 4])
    assert crf.log_partition(padded, mask).item() == pytest.approx(
        crf.log_partition(emissions, torch.ones(1, 3, dtype=torch.bool)).item(), abs=1e-5
    )
    assert (
        crf.viterbi(padded, mask)[0][0, :3].tolist()
        == crf.viterbi(emissions, torch.ones(1, 3, dtype=torch.bool))[0][0].tolist()
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_negative_log_likelihood_trains_towards_the_gold_sequence(algorithm: str) -> None:
    torch.manual_seed(0)
    crf = CRF(len(IOB2), *allowed_transitions(IOB2, "iob2"), algorithm=algorithm)
    emissions = torch.zeros(2, 3, len(IOB2), requires_grad=True)
    gold = torch.tensor([[1, 2, 0], [3, 4, 0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    optimizer = torch.optim.Adam([emissions, *crf.parameters()], lr=0.1)
    for _ in range(100):
        loss = crf.negative_log_likelihood(emissions, gold, mask).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    assert crf.viterbi(emissions, mask)[0][0].tolist() == [1, 2, 0]
    assert crf.viterbi(emissions, mask)[0][1, :2].tolist() == [3, 4]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(("tags", "scheme"), [(IOB2, "iob2"), (BIOES, "bioes")])
def test_constrained_decoding_never_outputs_an_illegal_transition(
    tags: list[str], scheme: str, algorithm: str
) -> None:
    crf = random_crf(tags, scheme, seed=7, algorithm=algorithm)
    torch.manual_seed(1)
    emissions = torch.randn(300, 9, len(tags)) * 5
    lengths = torch.randint(1, 10, (300,))
    mask = torch.arange(9).unsqueeze(0) < lengths.unsqueeze(1)
    paths, _ = crf.viterbi(emissions, mask)
    decoded = [[tags[i] for i in row[:n]] for row, n in zip(paths.tolist(), lengths.tolist(), strict=True)]
    assert all(is_legal(sequence, scheme) for sequence in decoded)
    # The same scores without constraints do produce illegal sequences: the test can fail.
    free = CRF(len(tags), algorithm=algorithm)
    free.load_state_dict(crf.state_dict())
    unconstrained = [
        [tags[i] for i in row[:n]]
        for row, n in zip(free.viterbi(emissions, mask)[0].tolist(), lengths.tolist(), strict=True)
    ]
    assert not all(is_legal(sequence, scheme) for sequence in unconstrained)


def test_tree_and_sequential_agree_on_long_batches_with_gradients() -> None:
    tree = random_crf(BIOES, "bioes", seed=11, algorithm="tree")
    sequential = CRF(len(BIOES), *allowed_transitions(BIOES, "bioes"), algorithm="sequential")
    sequential.load_state_dict(tree.state_dict())
    torch.manual_seed(2)
    lengths = torch.randint(1, 38, (24,))
    emissions = (torch.randn(24, 37, len(BIOES)) * 3).requires_grad_()
    mask = torch.arange(37).unsqueeze(0) < lengths.unsqueeze(1)
    tags = torch.randint(0, len(BIOES), (24, 37))
    results = []
    for crf in (tree, sequential):
        loss = crf.negative_log_likelihood(emissions, tags, mask).sum()
        (grad,) = torch.autograd.grad(loss, emissions)
        paths, scores = crf.viterbi(emissions, mask)
        results.append((loss, grad, paths.masked_fill(~mask, 0), scores))
    (loss_t, grad_t, paths_t, scores_t), (loss_s, grad_s, paths_s, scores_s) = results
    assert torch.allclose(loss_t, loss_s, rtol=1e-5)
    assert (grad_t - grad_s).abs().max() < 1e-4
    assert torch.equal(paths_t, paths_s)
    assert torch.allclose(scores_t, scores_s, rtol=1e-5)


def test_tree_operator_calls_do_not_grow_with_sentence_length() -> None:
    """What makes the tagger fast on a GPU: launches per step nearly independent of length."""
    crf = random_crf(BIOES, "bioes", seed=5, algorithm="tree")

    def calls(length: int, algorithm: str) -> int:
        crf.algorithm = algorithm
        emissions = torch.randn(8, length, len(BIOES), requires_grad=True)
        mask = torch.ones(8, length, dtype=torch.bool)
        tags = torch.zeros(8, length, dtype=torch.long)

        def step() -> None:
            crf.negative_log_likelihood(emissions, tags, mask).sum().backward()
            crf.viterbi(emissions, mask)

        return sum(operator_calls(step).values())

    assert calls(64, "tree") - calls(8, "tree") <= 3 * 30, "some 30 operators per doubling of the length"
    assert calls(64, "sequential") - calls(8, "sequential") > 500, "the recursion grows per position"
