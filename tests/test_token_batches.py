"""Token-based batches (``data.max_tokens``) of ``LengthBucketedBatches`` and sentences held as
``SequenceArrays``: budgets kept, every sequence once, ranks equal and disjoint, resume, and the
three sentence apps training on token batches."""

from __future__ import annotations

import math
from pathlib import Path

import hydra
import numpy as np
import pytest
import torch

from helpers.config import compose_config
from helpers.running import FEW
from helpers.tiny import tiny_setup
from lstm_apps.data.prepared.sequence_arrays import SequenceArrays, id_dtype
from lstm_apps.paths import config_dir
from lstm_apps.pipeline.train import train
from lstm_apps.registry import apps, first_tensor
from lstm_apps.text.batching import BucketedPairBatches, LengthBucketedBatches


class Indices(LengthBucketedBatches):
    """Batches as their index lists, to look at what the base class chose."""

    def collate(self, indices: list[int]) -> dict[str, torch.Tensor]:
        return {"index": torch.tensor(indices, dtype=torch.long)}


def lengths(n: int = 500, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, 40, size=n)


def index_lists(batches: LengthBucketedBatches) -> list[list[int]]:
    return [b["index"].tolist() for b in batches]


@pytest.mark.parametrize("shuffle", [True, False])
def test_batches_stay_within_the_budget_and_cover_every_sequence_once(shuffle: bool) -> None:
    sizes = lengths()
    sizes[7] = 100  # longer than the budget: a batch of its own
    batches = index_lists(Indices(sizes, batch_size=1000, shuffle=shuffle, seed=2, max_tokens=64))
    assert sorted(i for b in batches for i in b) == list(range(len(sizes)))
    for batch in batches:
        assert len(batch) * max(sizes[batch]) <= 64 or len(batch) == 1
    assert [7] in batches
    rows = [len(b) for b in batches]
    assert max(rows) > 10 and min(rows) == 1, "short sentences fill a batch, long ones get few rows"


def test_batch_size_caps_the_rows_of_token_batches() -> None:
    batches = index_lists(Indices(np.ones(100, dtype=int), batch_size=8, shuffle=True, max_tokens=64))
    assert max(len(b) for b in batches) == 8


def test_pairs_count_the_longer_side_and_fit_their_padded_tensors() -> None:
    rng = np.random.default_rng(1)
    src = [[5] * int(n) for n in rng.integers(1, 20, size=300)]
    tgt = [[6] * int(n) for n in rng.integers(1, 30, size=300)]
    data = BucketedPairBatches(
        SequenceArrays.from_lists(src, 10),
        SequenceArrays.from_lists(tgt, 10),
        500,
        0,
        2,
        3,
        True,
        max_tokens=80,
    )
    seen = []
    for batch in data:
        rows = batch["index"].numel()
        assert rows == 1 or rows * max(batch["src"].size(1), batch["tgt_out"].size(1)) <= 80
        seen += batch["index"].tolist()
    assert sorted(seen) == list(range(300))


def test_ranks_get_equal_counts_of_disjoint_token_batches() -> None:
    sizes = lengths(401)
    shares = [index_lists(Indices(sizes, 1000, True, seed=3, rank=r, world=2, max_tokens=64)) for r in (0, 1)]
    assert len(shares[0]) == len(shares[1]) > 1
    assert not {i for b in shares[0] for i in b} & {i for b in shares[1] for i in b}
    evaluation = [index_lists(Indices(sizes, 1000, False, rank=r, world=2, max_tokens=64)) for r in (0, 1)]
    assert sorted(i for share in evaluation for b in share for i in b) == list(range(401))


def test_resuming_mid_epoch_continues_with_the_remaining_token_batches() -> None:
    sizes = lengths(300)
    whole = Indices(sizes, 1000, True, seed=5, max_tokens=64)
    whole.epoch_source = lambda: 2
    order = index_lists(whole)
    resumed = Indices(sizes, 1000, True, seed=5, max_tokens=64)
    resumed.epoch_source = lambda: 2
    resumed.resume_at(2, 4)
    assert index_lists(resumed) == order[4:]
    assert index_lists(resumed) == order, "the skip applies to one iteration only"


def test_sequence_arrays_round_trip_and_pick_the_smallest_dtype() -> None:
    sequences = [[3, 1, 4], [], [1, 5], [9, 2, 6, 5]]
    packed = SequenceArrays.from_chunks([sequences[:2], sequences[2:]], vocab_size=10)
    assert packed.ids.dtype == np.uint16 and packed.offsets.dtype == np.int64
    assert [packed[i].tolist() for i in range(len(packed))] == sequences
    assert packed.lengths.tolist() == [3, 0, 2, 4]
    assert packed.select(np.array([3, 0])).lengths.tolist() == [4, 3]
    assert packed.select(np.array([3, 0]))[0].tolist() == [9, 2, 6, 5]
    padded, lens = packed.padded([2, 0], pad_id=0, extra=1, shift=1)
    assert padded.tolist() == [[0, 1, 5, 0], [0, 3, 1, 4]] and lens.tolist() == [2, 3]
    assert id_dtype(2**16) == np.uint16 and id_dtype(2**16 + 1) == np.uint32
    assert SequenceArrays.from_lists([[70_000]], 70_001).ids.dtype == np.uint32


# The apps whose data offers a token budget per batch.
TOKEN_BUDGET_APPS = [
    name for name in apps() if "max_tokens:" in (config_dir() / "data" / f"{name}.yaml").read_text()
]


def test_the_sentence_apps_offer_token_batches() -> None:
    assert len(TOKEN_BUDGET_APPS) >= 3


@pytest.mark.parametrize("app", TOKEN_BUDGET_APPS)
def test_sentence_apps_train_on_token_batches(app: str, tmp_path: Path) -> None:
    # batch_size=1000 caps nothing: the tiny corpus fits one sentence-count batch.
    overrides = [*tiny_setup(app, tmp_path).overrides, "data.batch_size=1000", "data.max_tokens=64"]
    cfg = compose_config("train", [*overrides, *FEW], tmp_path / "run")
    data = hydra.utils.instantiate(cfg.data)
    data.setup("fit")
    first = next(iter(data.train_dataloader()))
    key = next(k for k, v in first.items() if v is first_tensor(first))  # the sentences' tokens
    batches = list(data.train_dataloader())
    assert len(batches) > 1, "the budget splits what batch_size alone would keep together"
    for batch in batches:
        widths = [batch[k].size(1) for k in (key, "tgt_out") if k in batch]
        assert batch[key].size(0) == 1 or batch[key].size(0) * max(widths) <= 64
    seen = [i for b in batches for i in b["index"].tolist()]
    assert (
        len(seen)
        == len(set(seen))
        == len(data.encoded["train"][0] if app == "seq2seq" else data.encoded["train"])
    )
    metrics = train(cfg)
    assert all(math.isfinite(v) for k, v in metrics.items() if k.startswith("val/")), metrics
