"""Seq2seq data: date generator, TSV/aligned readers with file:line errors, bucketed batches."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import torch

from lstm_apps.apps.seq2seq.dates import FORMATS, generate_splits, ordinal
from lstm_apps.apps.seq2seq.parallel import DateCorpus, ParallelFiles, read_aligned, read_tsv
from lstm_apps.data.prepared.sequence_arrays import SequenceArrays
from lstm_apps.errors import UserError
from lstm_apps.text import batching


# Stands in for the class: built from (source, target) lists.
def BucketedPairBatches(
    pairs: list[tuple[list[int], list[int]]], *args: object, **kwargs: object
) -> batching.BucketedPairBatches:
    sources = SequenceArrays.from_lists([s for s, _ in pairs], 100)
    targets = SequenceArrays.from_lists([t for _, t in pairs], 100)
    return batching.BucketedPairBatches(sources, targets, *args, **kwargs)  # type: ignore[arg-type]


def test_dates_are_deterministic_correct_and_held_out() -> None:
    a = generate_splits(500, 50, 50, seed=3)
    assert a == generate_splits(500, 50, 50, seed=3)
    for source, target in a["train"][:50]:
        day = dt.date.fromisoformat(target)
        assert str(day.year % 100).zfill(2) in source or str(day.year) in source
    train_days = {t for _, t in a["train"]}
    assert not train_days & {t for _, t in a["test"]}
    assert not train_days & {t for _, t in a["val"]}
    assert ordinal(3) == "3rd" and ordinal(11) == "11th" and ordinal(22) == "22nd"
    assert FORMATS[2](dt.date(2021, 3, 4)) == "03/04/2021"  # slash forms are month first
    assert FORMATS[8](dt.date(2021, 3, 4)) == "04.03.2021"  # dotted forms are day first


def test_date_corpus_writes_tsv_once(tmp_path: Path) -> None:
    corpus = DateCorpus(str(tmp_path), train_size=20, val_size=5, test_size=5)
    splits = corpus.load()
    assert len(splits["train"]) == 20 and all("\t" not in s for s, _ in splits["val"])
    files = corpus.files()
    stamp = files["train"].stat().st_mtime_ns
    corpus.load()
    assert files["train"].stat().st_mtime_ns == stamp


def test_tsv_reader_names_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "ok.tsv"
    good.write_text("a b\tx y\n\nc\tz\n")
    assert read_tsv(good, "data.corpus.train") == [("a b", "x y"), ("c", "z")]
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\nonly one column\n")
    with pytest.raises(UserError, match=rf"{bad}:2: expected 2 tab-separated columns"):
        read_tsv(bad, "data.corpus.train")
    bad.write_text("a\tb\tc\n")
    with pytest.raises(UserError, match=r":1: expected 2 tab-separated columns \(source, target\), found 3"):
        read_tsv(bad, "k")
    bad.write_text("a\t \n")
    with pytest.raises(UserError, match=r":1: empty target column"):
        read_tsv(bad, "k")


def test_aligned_reader_checks_line_counts_and_blank_lines(tmp_path: Path) -> None:
    (tmp_path / "train.de").write_text("ein Hund\nzwei Katzen\n")
    (tmp_path / "train.en").write_text("a dog\ntwo cats\n")
    files = ParallelFiles(
        str(tmp_path / "train"), str(tmp_path / "train"), format="aligned", src_lang="de", tgt_lang="en"
    )
    assert files.load()["test"][1] == ("zwei Katzen", "two cats")
    (tmp_path / "train.en").write_text("a dog\n")
    with pytest.raises(UserError, match="has 2 lines but .*train.en has 1"):
        read_aligned(tmp_path / "train.de", tmp_path / "train.en", "data.corpus.train")
    (tmp_path / "train.en").write_text("a dog\n\n")
    with pytest.raises(UserError, match=r"train.en:2: empty line"):
        read_aligned(tmp_path / "train.de", tmp_path / "train.en", "data.corpus.train")


def test_bucketed_batches_cover_everything_once_with_little_padding() -> None:
    pairs = [([5] * (i % 17 + 1), [6] * (i % 5 + 1)) for i in range(300)]
    data = BucketedPairBatches(pairs, batch_size=16, pad_id=0, bos_id=2, eos_id=3, shuffle=True, seed=1)
    batches = list(data)
    seen = torch.cat([b["index"] for b in batches]).tolist()
    assert sorted(seen) == list(range(300))
    first = batches[0]
    assert torch.all(first["tgt_in"][:, 0] == 2)
    rows = first["index"].tolist()
    for row, index in enumerate(rows):
        n = len(pairs[index][1])
        assert first["tgt_out"][row, n] == 3 and first["src_lengths"][row] == len(pairs[index][0])
    padding = sum(int((b["src"] == 0).sum()) for b in batches)
    assert padding < 0.1 * sum(len(p[0]) for p in pairs), "bucketing keeps padding small"
    assert [b["index"].tolist() for b in data] != [b["index"].tolist() for b in batches], (
        "reshuffled per epoch"
    )


def test_ranks_train_on_batches_of_similar_length_at_each_step() -> None:
    """DDP waits for the slowest rank: pairing a long batch with a short one wastes the other."""
    import random

    rng = random.Random(0)
    pairs = [([1] * rng.randint(1, 200), [1]) for _ in range(2000)]
    ranks = [
        list(BucketedPairBatches(pairs, 16, 0, 2, 3, shuffle=True, seed=1, rank=r, world=2)) for r in (0, 1)
    ]
    assert len(ranks[0]) == len(ranks[1]) == 2000 // 16 // 2
    gaps = [abs(a["src"].size(1) - b["src"].size(1)) for a, b in zip(*ranks, strict=True)]
    assert sum(gaps) / len(gaps) < 15, "random pairing differs by ~65 tokens per step"


def test_ranks_get_disjoint_equal_shares() -> None:
    pairs = [([1] * (i % 7 + 1), [1]) for i in range(203)]
    shares = [
        [
            i
            for b in BucketedPairBatches(pairs, 10, 0, 2, 3, shuffle=True, rank=r, world=2)
            for i in b["index"].tolist()
        ]
        for r in (0, 1)
    ]
    assert not set(shares[0]) & set(shares[1])
    assert len(list(BucketedPairBatches(pairs, 10, 0, 2, 3, shuffle=True, rank=0, world=2))) == len(
        list(BucketedPairBatches(pairs, 10, 0, 2, 3, shuffle=True, rank=1, world=2))
    )


def test_evaluation_batches_give_every_rank_work_even_for_a_tiny_split() -> None:
    pairs = [([1] * n, [2] * n) for n in range(1, 4)]
    shards = [
        list(BucketedPairBatches(pairs, 256, 0, 2, 3, shuffle=False, rank=r, world=2)) for r in range(2)
    ]
    assert all(len(s) == 1 for s in shards)
    seen = sorted(int(i) for s in shards for b in s for i in b["index"])
    assert seen == [0, 1, 2], "every item once, across the ranks"


def test_resuming_mid_epoch_yields_exactly_the_remaining_batches() -> None:
    pairs = [([1] * (n % 7 + 1), [2] * (n % 5 + 1)) for n in range(60)]
    whole = BucketedPairBatches(pairs, 6, 0, 2, 3, shuffle=True, seed=3)
    whole.epoch_source = lambda: 4
    order = [b["index"].tolist() for b in whole]
    resumed = BucketedPairBatches(pairs, 6, 0, 2, 3, shuffle=True, seed=3)
    resumed.epoch_source = lambda: 4
    resumed.resume_at(4, 3)
    assert [b["index"].tolist() for b in resumed] == order[3:]
    assert [b["index"].tolist() for b in resumed] == order, "the skip applies to one iteration only"
