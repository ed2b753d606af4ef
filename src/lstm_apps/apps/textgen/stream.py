"""Contiguous token streams cut into truncated-BPTT windows (the classic LM recipe)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TypeVar

import numpy as np
import torch
from torch.utils.data import IterableDataset

Stream = TypeVar("Stream", np.ndarray, torch.Tensor)


def stream_rows(ids: Stream, num_rows: int) -> Stream:
    """Lay a 1-D stream out as ``[num_rows, L]``; each row is a contiguous stretch of text.

    A view, not a copy (of a memory-mapped array too). The tail that does not fill a whole row is
    dropped, as in the word-language-model example.
    """
    length = len(ids) // num_rows
    if length < 2:
        raise ValueError(f"a stream of {len(ids)} tokens is too short for {num_rows} rows")
    return ids[: length * num_rows].reshape(num_rows, length)


def as_long(window: np.ndarray | torch.Tensor) -> torch.Tensor:
    """One window as ``int64`` ids: only the window is copied, never the whole stream."""
    if isinstance(window, torch.Tensor):
        return window.long()
    # ascontiguousarray: a reversed stream's windows are views with negative strides
    return torch.from_numpy(np.ascontiguousarray(window, dtype=np.int64))


class BPTTWindows(IterableDataset):
    """Yields ``(inputs, targets)`` windows ``[B, <=bptt]`` (``int64``) in time order.

    Consecutive windows continue each row, so a model may carry its hidden state from one batch to
    the next. It is an ``IterableDataset`` on purpose: no sampler may reorder or shard windows
    (sharding across ranks is done by rows, before this point). ``rows`` may be a memory-mapped
    array of narrow ids: each window is converted as it is yielded.
    """

    def __init__(self, rows: np.ndarray | torch.Tensor, bptt: int) -> None:
        super().__init__()
        if bptt < 1:
            raise ValueError(f"bptt must be >= 1, got {bptt}")
        self.rows = rows
        self.bptt = bptt
        self.epoch_source: Callable[[], int] | None = None
        self._resume: tuple[int, int] | None = None

    def __len__(self) -> int:
        return math.ceil((self.rows.shape[1] - 1) / self.bptt)

    def resume_at(self, epoch: int, batches_done: int) -> None:
        """The next iteration, if it is epoch ``epoch``, skips the ``batches_done`` windows a
        checkpoint written mid-epoch had already trained on."""
        self._resume = (epoch, batches_done)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        last = self.rows.shape[1] - 1
        skip = 0
        if (
            self._resume is not None
            and self.epoch_source is not None
            and self._resume[0] == self.epoch_source()
        ):
            skip = self._resume[1]
        self._resume = None
        for start in range(skip * self.bptt, last, self.bptt):
            stop = min(start + self.bptt, last)
            yield as_long(self.rows[:, start:stop]), as_long(self.rows[:, start + 1 : stop + 1])
