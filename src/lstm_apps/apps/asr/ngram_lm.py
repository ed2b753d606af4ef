"""An n-gram language model over the recogniser's output units (characters, or BPE pieces) for
shallow fusion in the CTC beam search: Witten-Bell interpolation (each order's estimate mixed with the next lower order's by how many different
units followed the context), counted with numpy, stored as sorted integer keys so that the beam
search looks up every beam's next-unit distribution with ``torch.searchsorted``: no Python per
beam or per step.

Why our own and not KenLM through a decoder library: the decoder libraries that take KenLM
models (pyctcdecode, flashlight's) search one utterance at a time in Python or C++ on the host;
this one runs inside the batched search on the device. A word-level KenLM model is not read.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lstm_apps.errors import UserError


class UnitNgram:
    """``units``: the recogniser's output units (index 0 the CTC blank, which stands for "before
    the start" in contexts). ``order``: units of context + 1."""

    def __init__(
        self,
        units: Sequence[str],
        order: int,
        unigram: np.ndarray | torch.Tensor,
        pair_keys: list[Any],
        pair_probs: list[Any],
        context_keys: list[Any],
        context_weights: list[Any],
    ) -> None:
        self.units, self.order = list(units), order
        self.unigram = torch.as_tensor(unigram, dtype=torch.float32)
        self.pair_keys = [torch.as_tensor(k, dtype=torch.long) for k in pair_keys]
        self.pair_probs = [torch.as_tensor(p, dtype=torch.float32) for p in pair_probs]
        self.context_keys = [torch.as_tensor(k, dtype=torch.long) for k in context_keys]
        self.context_weights = [torch.as_tensor(w, dtype=torch.float32) for w in context_weights]

    # -- training -------------------------------------------------------------------------------
    @classmethod
    def count(cls, sequences: Iterable[Sequence[int]], units: Sequence[str], order: int) -> UnitNgram:
        """Counted from unit-id ``sequences`` (one sentence each; ids > 0)."""
        if order < 1:
            raise UserError(f"lm_order: {order} is not an order (an integer >= 1)")
        size = len(units)
        if size**order >= 2**62:
            raise UserError(f"lm_order: {order} is too high for {size} units (keys would not fit 64 bits)")
        width = order - 1
        pieces = [np.asarray([0] * width + list(ids), dtype=np.int64) for ids in sequences if len(ids)]
        if not pieces:
            raise UserError("the language model's text holds none of the model's units")
        sequence = np.concatenate(pieces)
        targets = np.flatnonzero(_real_positions(pieces, width))
        nexts = sequence[targets]
        counts = np.bincount(nexts, minlength=size).astype(np.float64)
        unigram = (counts + 1.0) / (counts.sum() + size - 1)
        unigram[0] = 0.0
        pair_keys, pair_probs, context_keys, context_weights = [], [], [], []
        context = np.zeros(len(targets), dtype=np.int64)
        for j in range(1, order):
            context = context + sequence[targets - j] * size ** (j - 1)  # oldest unit most significant
            pairs, pair_count = np.unique(context * size + nexts, return_counts=True)
            contexts_of_pairs = pairs // size
            keys, first, distinct = np.unique(contexts_of_pairs, return_index=True, return_counts=True)
            totals = np.add.reduceat(pair_count, first)
            denominators = totals + distinct
            where = np.searchsorted(keys, contexts_of_pairs)
            pair_keys.append(pairs)
            pair_probs.append((pair_count / denominators[where]).astype(np.float32))
            context_keys.append(keys)
            context_weights.append((distinct / denominators).astype(np.float32))
        return cls(units, order, unigram, pair_keys, pair_probs, context_keys, context_weights)

    @classmethod
    def from_text_file(
        cls, path: str | Path, encode: Callable[[str], list[int]], units: Sequence[str], order: int
    ) -> UnitNgram:
        """Counted from a text file, one sentence a line, each turned into unit ids by ``encode``."""
        file = Path(path).expanduser()
        if not file.is_file():
            raise UserError(f"lm: file not found: {file}")
        with file.open(encoding="utf-8", errors="replace") as lines:
            return cls.count((encode(line) for line in lines), units, order)

    # -- files and checkpoints ------------------------------------------------------------------
    def tensors(self) -> dict[str, torch.Tensor]:
        """The model's tables by name (what ``from_tensors`` takes back)."""
        tables = {"order": torch.tensor(self.order), "unigram": self.unigram.cpu()}
        for j in range(self.order - 1):
            tables[f"pair_keys_{j}"] = self.pair_keys[j].cpu()
            tables[f"pair_probs_{j}"] = self.pair_probs[j].cpu()
            tables[f"context_keys_{j}"] = self.context_keys[j].cpu()
            tables[f"context_weights_{j}"] = self.context_weights[j].cpu()
        return tables

    @classmethod
    def from_tensors(cls, units: Sequence[str], tables: dict[str, torch.Tensor]) -> UnitNgram:
        order = int(tables["order"])
        names = ("pair_keys", "pair_probs", "context_keys", "context_weights")
        parts: list[list[Any]] = [[tables[f"{name}_{j}"] for j in range(order - 1)] for name in names]
        return cls(units, order, tables["unigram"], *parts)

    def save(self, path: str | Path) -> None:
        arrays: dict[str, Any] = {name: table.numpy() for name, table in self.tensors().items()}
        arrays["units"] = np.asarray(self.units, dtype=str)
        with open(path, "wb") as out:
            np.savez(out, **arrays)

    @classmethod
    def load(cls, path: str | Path, units: Sequence[str]) -> UnitNgram:
        """A model written by ``save``; its units must be the recogniser's."""
        try:
            data = np.load(path, allow_pickle=False)
            order = int(data["order"])
            stored = [str(u) for u in data["units"]]
        except (OSError, ValueError, KeyError, EOFError, pickle.UnpicklingError) as err:
            raise UserError(
                f"lm: {path}: not a character language model saved by lstm-apps ({err})"
            ) from None
        if stored != list(units):
            raise UserError(
                f"lm: {path}: made for the units {''.join(stored)!r}, not this model's {''.join(units)!r}"
            )
        parts = [
            [data[f"{name}_{j}"] for j in range(order - 1)]
            for name in ("pair_keys", "pair_probs", "context_keys", "context_weights")
        ]
        return cls(units, order, data["unigram"], *parts)

    def to(self, device: torch.device | str) -> UnitNgram:
        """The tables on ``device`` (in place)."""
        self.unigram = self.unigram.to(device)
        for tables in (self.pair_keys, self.pair_probs, self.context_keys, self.context_weights):
            tables[:] = [t.to(device) for t in tables]
        return self

    # -- scoring --------------------------------------------------------------------------------
    def next_log_probs(self, context: torch.Tensor) -> torch.Tensor:
        """``[N, C]`` log-probabilities of each unit after each context ``[N, order - 1]`` (units,
        oldest first, 0 before the start); the blank's column is 0 (it is never scored)."""
        size = len(self.units)
        rows = context.size(0)
        probs = self.unigram.to(context.device).expand(rows, size)
        unit_ids = torch.arange(size, device=context.device)
        key = torch.zeros(rows, dtype=torch.long, device=context.device)
        for j in range(1, self.order):
            key = key + context[:, -j] * size ** (j - 1)
            weight = _lookup(self.context_keys[j - 1], self.context_weights[j - 1], key)
            seen = weight > 0
            pairs = _lookup(
                self.pair_keys[j - 1], self.pair_probs[j - 1], (key.unsqueeze(1) * size + unit_ids)
            )
            probs = torch.where(seen.unsqueeze(1), weight.unsqueeze(1) * probs + pairs, probs)
        logs = probs.clamp(min=1e-12).log()
        logs[:, 0] = 0.0
        return logs


def _lookup(keys: torch.Tensor, values: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """``values`` at the positions of ``query`` in sorted ``keys``; 0 where a key is absent."""
    if keys.numel() == 0:
        return torch.zeros(query.shape, device=query.device)
    keys, values = keys.to(query.device), values.to(query.device)
    at = torch.searchsorted(keys, query).clamp(max=keys.numel() - 1)
    return torch.where(keys[at] == query, values[at], 0.0)


def _real_positions(pieces: list[np.ndarray], width: int) -> np.ndarray:
    """True at every position of the joined pieces that holds a unit, not start padding."""
    real = [np.concatenate([np.zeros(width, bool), np.ones(len(p) - width, bool)]) for p in pieces]
    return np.concatenate(real)


class StoredLanguageModel(nn.Module):
    """A ``UnitNgram`` kept as buffers, so that it travels in the checkpoint with the weights and
    moves to the device with them. Empty until ``store``; loading a state dict creates buffers of
    the stored shapes first (their sizes depend on the text the model was counted from)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_load_state_dict_pre_hook(self._take_shapes)

    def store(self, lm: UnitNgram) -> None:
        for name, table in lm.tensors().items():
            self.register_buffer(name, table.to(self._device()))

    def _device(self) -> torch.device:
        return next((b.device for b in self.buffers()), torch.device("cpu"))

    def language_model(self, units: Sequence[str]) -> UnitNgram | None:
        tables = dict(self.named_buffers())
        return UnitNgram.from_tensors(units, tables) if tables else None

    def _take_shapes(self, module: nn.Module, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        for key, value in state_dict.items():
            if key.startswith(prefix) and "." not in key[len(prefix) :]:
                self.register_buffer(key[len(prefix) :], torch.empty_like(value))
