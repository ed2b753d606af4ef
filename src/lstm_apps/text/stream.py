"""Contiguous token streams cut into truncated-BPTT windows (the classic LM recipe)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch.utils.data import IterableDataset


def stream_rows(ids: torch.Tensor, num_rows: int) -> torch.Tensor:
    """Lay a 1-D stream out as ``[num_rows, L]``; each row is a contiguous stretch of text.

    The tail that does not fill a whole row is dropped, as in the word-language-model example.
    """
    length = ids.numel() // num_rows
    if length < 2:
        raise ValueError(f"a stream of {ids.numel()} tokens is too short for {num_rows} rows")
    return ids[: length * num_rows].view(num_rows, length)


class BPTTWindows(IterableDataset):
    """Yields ``(inputs, targets)`` windows ``[B, <=bptt]`` in time order.

    Consecutive windows continue each row, so a model may carry its hidden state from one batch to
    the next. It is an ``IterableDataset`` on purpose: no sampler may reorder or shard windows
    (sharding across ranks is done by rows, before this point).
    """

    def __init__(self, rows: torch.Tensor, bptt: int) -> None:
        super().__init__()
        if bptt < 1:
            raise ValueError(f"bptt must be >= 1, got {bptt}")
        self.rows = rows
        self.bptt = bptt

    def __len__(self) -> int:
        return math.ceil((self.rows.size(1) - 1) / self.bptt)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        last = self.rows.size(1) - 1
        for start in range(0, last, self.bptt):
            stop = min(start + self.bptt, last)
            yield self.rows[:, start:stop], self.rows[:, start + 1 : stop + 1]
