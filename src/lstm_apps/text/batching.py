"""Length-bucketed, padded batches of token sequences (what torchtext's BucketIterator did)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence

import torch
from torch.utils.data import IterableDataset


def pad_sequences(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``[B, max_len]`` right-padded tensor and the ``[B]`` lengths."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    padded = torch.full(
        (len(sequences), int(lengths.max()) if len(sequences) else 0), pad_id, dtype=torch.long
    )
    for row, sequence in enumerate(sequences):
        padded[row, : len(sequence)] = torch.as_tensor(sequence, dtype=torch.long)
    return padded, lengths


class LengthBucketedBatches(IterableDataset):
    """Batches of dataset indices with similar lengths, turned into tensors by ``collate``.

    Training: every epoch shuffles, sorts pools of ``pool_batches`` batches by length, cuts them
    into batches and shuffles the batches (little padding, random order). Evaluation: sorted by
    length once, in a fixed order. Training: the ranks of ``world`` processes take, step by step,
    batches of neighbouring lengths, the count kept equal across ranks; evaluation: every
    ``world``-th item. An ``IterableDataset``, so that no sampler is
    injected around it by distributed wrappers.
    """

    def __init__(
        self,
        lengths: Sequence[int | tuple[int, ...]],
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        pool_batches: int = 50,
    ) -> None:
        super().__init__()
        self.lengths = lengths
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.rank, self.world = rank, world
        self.pool = pool_batches * batch_size
        self.epoch = 0
        # Where the epoch number comes from when a trainer drives the loop: a resumed run then
        # shuffles epoch k exactly as an uninterrupted one would.
        self.epoch_source: Callable[[], int] | None = None
        self._resume: tuple[int, int] | None = None

    def resume_at(self, epoch: int, batches_done: int) -> None:
        """The next iteration, if it is epoch ``epoch``, skips the ``batches_done`` batches a
        checkpoint written mid-epoch had already trained on."""
        self._resume = (epoch, batches_done)

    def _batches(self) -> list[list[int]]:
        order = list(range(len(self.lengths)))
        length = self.lengths.__getitem__
        if not self.shuffle:
            # Items, not batches, are dealt to the ranks: a split smaller than one batch per rank
            # still gives every rank work, and each rank's share stays sorted by length.
            order.sort(key=length)
            mine = order[self.rank :: self.world]
            return [mine[i : i + self.batch_size] for i in range(0, len(mine), self.batch_size)]
        rng = random.Random(self.seed * 100_003 + self.epoch)
        rng.shuffle(order)
        batches = []
        for start in range(0, len(order), self.pool):
            pool = sorted(order[start : start + self.pool], key=length)
            batches += [pool[i : i + self.batch_size] for i in range(0, len(pool), self.batch_size)]
        if len(batches) < self.world:  # a tiny training set: one batch per rank, items dealt out
            return [order[self.rank :: self.world]]
        for _ in range(len(batches) % self.world):  # equal counts per rank: drop a few at random
            batches.pop(rng.randrange(len(batches)))
        # DDP waits for the slowest rank at every step, so the ranks' batches of one step are
        # neighbours in length order (a long batch is never paired with a short one); the
        # groups, not the batches, are shuffled.
        groups = [batches[i : i + self.world] for i in range(0, len(batches), self.world)]
        rng.shuffle(groups)
        return [group[self.rank] for group in groups]

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
            yield self.collate(indices)

    def collate(self, indices: list[int]) -> dict[str, torch.Tensor]:
        raise NotImplementedError


class BucketedPairBatches(LengthBucketedBatches):
    """Length-bucketed (source, target) id sequences, padded, ready for an encoder-decoder.

    Each batch: ``src [B, S]``, ``src_lengths [B]``, ``tgt_in [B, T]`` (BOS + target),
    ``tgt_out [B, T]`` (target + EOS), ``index [B]`` (position in ``pairs``).
    """

    def __init__(
        self,
        pairs: Sequence[tuple[Sequence[int], Sequence[int]]],
        batch_size: int,
        pad_id: int,
        bos_id: int,
        eos_id: int,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        pool_batches: int = 50,
    ) -> None:
        lengths = [(len(s), len(t)) for s, t in pairs]
        super().__init__(lengths, batch_size, shuffle, seed, rank, world, pool_batches)
        self.pairs = pairs
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id

    def collate(self, indices: list[int]) -> dict[str, torch.Tensor]:
        sources = [self.pairs[i][0] for i in indices]
        targets = [self.pairs[i][1] for i in indices]
        src, src_lengths = pad_sequences(sources, self.pad_id)
        tgt_in, _ = pad_sequences([[self.bos_id, *t] for t in targets], self.pad_id)
        tgt_out, _ = pad_sequences([[*t, self.eos_id] for t in targets], self.pad_id)
        return {
            "src": src,
            "src_lengths": src_lengths,
            "tgt_in": tgt_in,
            "tgt_out": tgt_out,
            "index": torch.tensor(indices),
        }
