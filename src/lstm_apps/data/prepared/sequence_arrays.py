"""Many token sequences as one flat id array plus offsets: two numpy arrays instead of a Python
list (and an int object per token) per sentence, so a corpus costs 2-4 bytes a token and can be
backed by a memory-mapped file with the same layout."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain

import numpy as np
import torch


def id_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned dtype that holds ids ``0 .. vocab_size - 1``."""
    if vocab_size <= 2**16:
        return np.dtype(np.uint16)
    if vocab_size <= 2**32:
        return np.dtype(np.uint32)
    return np.dtype(np.int64)


class SequenceArrays:
    """Sequence ``i`` is ``ids[offsets[i] : offsets[i + 1]]``; ``offsets`` has ``len + 1`` int64
    entries, starting at 0. ``ids`` and ``offsets`` may be ``np.memmap``s."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray) -> None:
        if offsets.ndim != 1 or len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(ids):
            raise ValueError("offsets must start at 0 and end at len(ids)")
        self.ids = ids
        self.offsets = offsets

    @classmethod
    def from_lists(cls, sequences: Iterable[Sequence[int]], vocab_size: int) -> SequenceArrays:
        """Packed copies of ``sequences`` (ids below ``vocab_size``)."""
        return cls.from_chunks([sequences], vocab_size)

    @classmethod
    def from_chunks(cls, chunks: Iterable[Iterable[Sequence[int]]], vocab_size: int) -> SequenceArrays:
        """Packed from chunks of sequences, one chunk at a time: the Python lists of a chunk can
        be freed before the next is made, so a corpus is never held as lists all at once."""
        dtype = id_dtype(vocab_size)
        ids: list[np.ndarray] = []
        lengths: list[np.ndarray] = []
        for chunk in chunks:
            sequences = list(chunk)
            lengths.append(np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences)))
            total = int(lengths[-1].sum())
            ids.append(np.fromiter(chain.from_iterable(sequences), dtype=dtype, count=total))
        offsets = np.zeros(sum(len(n) for n in lengths) + 1, dtype=np.int64)
        if lengths:
            np.cumsum(np.concatenate(lengths), out=offsets[1:])
        return cls(np.concatenate(ids) if ids else np.zeros(0, dtype), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """``[len]`` int64 length of every sequence."""
        return np.diff(self.offsets)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.ids[self.offsets[index] : self.offsets[index + 1]]

    def select(self, keep: np.ndarray) -> SequenceArrays:
        """The sequences at indices (or boolean mask) ``keep``, packed anew."""
        starts, lengths = self.offsets[:-1][keep], self.lengths[keep]
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return SequenceArrays(self.ids[_positions(starts, lengths, offsets)], offsets)

    def padded(
        self, indices: Sequence[int] | np.ndarray, pad_id: int, extra: int = 0, shift: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, longest + extra]`` long tensor of the sequences at ``indices``, each starting at
        column ``shift`` (room for a BOS), ``pad_id`` elsewhere; and their ``[B]`` lengths."""
        index = np.asarray(indices, dtype=np.int64)
        starts, lengths = self.offsets[:-1][index], self.lengths[index]
        width = (int(lengths.max()) if len(index) else 0) + extra
        out = np.full((len(index), width), pad_id, dtype=np.int64)
        within = np.zeros(len(index) + 1, dtype=np.int64)
        np.cumsum(lengths, out=within[1:])
        rows = np.repeat(np.arange(len(index)), lengths)
        columns = np.arange(within[-1]) - np.repeat(within[:-1], lengths) + shift
        out[rows, columns] = self.ids[_positions(starts, lengths, within)]
        return torch.from_numpy(out), torch.from_numpy(lengths.astype(np.int64))


def _positions(starts: np.ndarray, lengths: np.ndarray, packed_offsets: np.ndarray) -> np.ndarray:
    """Flat positions in ``ids`` of the sequences at ``starts`` with ``lengths``, in order."""
    return np.arange(packed_offsets[-1]) - np.repeat(packed_offsets[:-1] - starts, lengths)


def utf8_arrays(texts: Iterable[str], chunk: int = 100_000) -> SequenceArrays:
    """Each text's UTF-8 bytes as one sequence (uint8): what a person reads, kept beside the ids
    (a reference translation, a sentence's words) at one byte per character or so."""
    ids: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    batch: list[bytes] = []

    def flush() -> None:
        lengths.append(np.fromiter((len(b) for b in batch), dtype=np.int64, count=len(batch)))
        ids.append(np.frombuffer(b"".join(batch), dtype=np.uint8))
        batch.clear()

    for text in texts:
        batch.append(text.encode("utf-8"))
        if len(batch) >= chunk:
            flush()
    flush()
    offsets = np.zeros(sum(len(n) for n in lengths) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(lengths), out=offsets[1:])
    return SequenceArrays(np.concatenate(ids), offsets)


class TextColumn(Sequence[str]):
    """Texts stored by ``utf8_arrays``, decoded one at a time on access (nothing held as str)."""

    def __init__(self, arrays: SequenceArrays) -> None:
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays)

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return self.arrays[index % len(self)].tobytes().decode("utf-8")
