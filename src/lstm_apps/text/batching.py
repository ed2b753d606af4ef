"""Length-bucketed, padded batches of token sequences (what torchtext's BucketIterator did)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from functools import partial

import numpy as np
import torch
from torch.utils.data import IterableDataset

from lstm_apps.data.prepared.sequence_arrays import SequenceArrays


def pad_sequences(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``[B, max_len]`` right-padded tensor and the ``[B]`` lengths."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    padded = torch.full(
        (len(sequences), int(lengths.max()) if len(sequences) else 0), pad_id, dtype=torch.long
    )
    for row, sequence in enumerate(sequences):
        padded[row, : len(sequence)] = torch.as_tensor(sequence, dtype=torch.long)
    return padded, lengths


def _padded_tokens(sizes: list[int], before: int, rows: int) -> int:
    """Padded tokens of the ``rows`` items after position ``before`` in ascending ``sizes``."""
    return rows * sizes[before + rows]


class LengthBucketedBatches(IterableDataset):
    """Batches of dataset indices with similar lengths, turned into tensors by ``collate``.

    ``lengths``: ``[N]`` or ``[N, k]`` (e.g. source and target length); items are ordered by
    them, lexicographically. A batch holds ``batch_size`` items or, with ``max_tokens``, as many
    length-sorted items as fit in ``max_tokens`` padded tokens (rows x the longest item, an
    item's size being its largest length, as fairseq counts), ``batch_size`` still capping the
    rows; a single item longer than ``max_tokens`` gets a batch of its own (never skipped).

    Training: every epoch shuffles, sorts pools of ``pool_batches x batch_size`` items by length,
    cuts them into batches and shuffles the batches (little padding, random order). Evaluation:
    sorted by length once, in a fixed order. Training: the ranks of ``world`` processes take,
    step by step, batches of neighbouring lengths, the count kept equal across ranks; evaluation:
    every ``world``-th item. An ``IterableDataset``, so that no sampler is injected around it by
    distributed wrappers.
    """

    def __init__(
        self,
        lengths: Sequence[int | tuple[int, ...]] | np.ndarray,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        pool_batches: int = 50,
        max_tokens: int | None = None,
    ) -> None:
        super().__init__()
        table = np.asarray(lengths, dtype=np.int64).reshape(len(lengths), -1)
        self.lengths = table
        # Ordering keys for np.lexsort (last key first): with a token budget the size comes
        # first, so that sizes ascend within a pool and a batch's longest item is its last.
        self._keys = [table[:, j] for j in reversed(range(table.shape[1]))]
        self.sizes = table.max(axis=1) if table.shape[1] else np.zeros(len(table), dtype=np.int64)
        if max_tokens is not None:
            self._keys.append(self.sizes)
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.shuffle = shuffle
        self.seed = seed
        self.rank, self.world = rank, world
        # A pool holds about ``pool_batches`` batches: with a token budget, of the rows an
        # average item leaves room for.
        rows = batch_size
        if max_tokens is not None and len(table):
            rows = max(1, min(batch_size, max_tokens // max(1, round(float(self.sizes.mean())))))
        self.pool = pool_batches * rows
        self.epoch = 0
        # Where the epoch number comes from when a trainer drives the loop: a resumed run then
        # shuffles epoch k exactly as an uninterrupted one would.
        self.epoch_source: Callable[[], int] | None = None
        self._resume: tuple[int, int] | None = None

    def resume_at(self, epoch: int, batches_done: int) -> None:
        """The next iteration, if it is epoch ``epoch``, skips the ``batches_done`` batches a
        checkpoint written mid-epoch had already trained on."""
        self._resume = (epoch, batches_done)

    def _sorted(self, order: np.ndarray, group: np.ndarray | None = None) -> np.ndarray:
        """``order`` sorted by length (within each ``group`` value, groups kept in order); the
        sort is stable, so equal lengths keep the order they came in."""
        keys = [key[order] for key in self._keys]
        if group is not None:
            keys.append(group)
        return order[np.lexsort(keys)] if len(order) else order

    def _cut(self, ordered: np.ndarray) -> list[np.ndarray]:
        """Consecutive batches of length-``ordered`` items: ``batch_size`` each, or as many as
        fit in ``max_tokens`` padded tokens (sizes ascend, so the last row is the longest)."""
        if self.max_tokens is None:
            return [ordered[i : i + self.batch_size] for i in range(0, len(ordered), self.batch_size)]
        sizes = self.sizes[ordered].tolist()
        budget, cap, n = self.max_tokens, self.batch_size, len(ordered)
        batches, start = [], 0
        while start < n:
            # Rows x the last row's size grows with the rows: the largest count within budget.
            first = start - 1
            padded = partial(_padded_tokens, sizes, first)
            rows = bisect_right(range(1, min(cap, n - start) + 1), budget, key=padded)
            end = start + max(rows, 1)
            batches.append(ordered[start:end])
            start = end
        return batches

    def _batches(self) -> list[np.ndarray]:
        everything = np.arange(len(self.lengths))
        if not self.shuffle:
            # Items, not batches, are dealt to the ranks: a split smaller than one batch per rank
            # still gives every rank work, and each rank's share stays sorted by length.
            return self._cut(self._sorted(everything)[self.rank :: self.world])
        rng = np.random.default_rng(self.seed * 100_003 + self.epoch)
        order = rng.permutation(len(self.lengths))
        pools = np.arange(len(order)) // max(self.pool, 1)
        ordered = self._sorted(order, pools)
        bounds = np.flatnonzero(np.diff(pools)) + 1
        batches = [batch for pool in np.split(ordered, bounds) for batch in self._cut(pool)]
        if len(batches) < self.world:  # a tiny training set: one batch per rank, items dealt out
            return [order[self.rank :: self.world]]
        # Equal counts per rank: drop a few at random.
        drop = set(rng.choice(len(batches), len(batches) % self.world, replace=False).tolist())
        batches = [batch for i, batch in enumerate(batches) if i not in drop]
        # DDP waits for the slowest rank at every step, so the ranks' batches of one step are
        # neighbours in length order (a long batch is never paired with a short one); the
        # groups, not the batches, are shuffled.
        steps = rng.permutation(len(batches) // self.world)
        return [batches[step * self.world + self.rank] for step in steps]

    def __len__(self) -> int:
        return len(self._batches())

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        if self.epoch_source is not None:
            self.epoch = self.epoch_source()
        batches = self._batches()
        if self._resume is not None and self._resume[0] == self.epoch:
            batches = batches[self._resume[1] :]
        self._resume = None
        self.epoch += 1
        for indices in batches:
            yield self.collate(indices.tolist())

    def collate(self, indices: list[int]) -> dict[str, torch.Tensor]:
        raise NotImplementedError


class BucketedPairBatches(LengthBucketedBatches):
    """Length-bucketed (source, target) id sequences, padded, ready for an encoder-decoder.

    Each batch: ``src [B, S]``, ``src_lengths [B]``, ``tgt_in [B, T]`` (BOS + target),
    ``tgt_out [B, T]`` (target + EOS), ``index [B]`` (position in the pairs). A pair's size for
    ``max_tokens`` is the longer of source and target + EOS.
    """

    def __init__(
        self,
        sources: SequenceArrays,
        targets: SequenceArrays,
        batch_size: int,
        pad_id: int,
        bos_id: int,
        eos_id: int,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        pool_batches: int = 50,
        max_tokens: int | None = None,
    ) -> None:
        lengths = np.stack([sources.lengths, targets.lengths + 1], axis=1)
        super().__init__(lengths, batch_size, shuffle, seed, rank, world, pool_batches, max_tokens)
        self.sources, self.targets = sources, targets
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id

    def collate(self, indices: list[int]) -> dict[str, torch.Tensor]:
        src, src_lengths = self.sources.padded(indices, self.pad_id)
        tgt_in, tgt_lengths = self.targets.padded(indices, self.pad_id, extra=1, shift=1)
        tgt_in[:, 0] = self.bos_id
        tgt_out, _ = self.targets.padded(indices, self.pad_id, extra=1)
        tgt_out[torch.arange(len(indices)), tgt_lengths] = self.eos_id
        return {
            "src": src,
            "src_lengths": src_lengths,
            "tgt_in": tgt_in,
            "tgt_out": tgt_out,
            "index": torch.tensor(indices, dtype=torch.long),
        }
