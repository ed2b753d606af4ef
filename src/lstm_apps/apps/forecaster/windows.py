"""Forecasting windows: the split by time, the scaler fitted on the train part only, and batches
of (input window, horizon) pairs cut in time order."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lstm_apps.errors import UserError
from lstm_apps.text.batching import LengthBucketedBatches


@dataclass(frozen=True)
class TimeSplit:
    """Train/val/test by time: steps ``[0, train_end)``, ``[train_end, val_end)``, ``[val_end, T)``.

    A window's *targets* (the ``horizon`` steps it forecasts) lie inside one part; its *inputs*
    (the ``context`` steps before them) may reach back into earlier parts — that is the past, which
    a forecaster in production has too. Nothing of a later part ever enters an earlier part's window.
    """

    length: int
    train_end: int
    val_end: int

    @classmethod
    def of(
        cls, length: int, val_fraction: float, test_fraction: float, context: int, horizon: int
    ) -> TimeSplit:
        n_test, n_val = round(length * test_fraction), round(length * val_fraction)
        split = cls(length, length - n_val - n_test, length - n_test)
        if min(n_val, n_test) < horizon:
            raise UserError(
                f"data: the val/test parts ({n_val}/{n_test} steps) must each hold one horizon ({horizon} "
                "steps); raise data.val_fraction/test_fraction or lower data.horizon"
            )
        if split.train_end < context + horizon:
            raise UserError(
                f"data: the train part ({split.train_end} steps) is shorter than one window "
                f"(context {context} + horizon {horizon})"
            )
        return split

    def bounds(self, part: str) -> tuple[int, int]:
        return {
            "train": (0, self.train_end),
            "val": (self.train_end, self.val_end),
            "test": (self.val_end, self.length),
        }[part]

    def origins(self, part: str, context: int, horizon: int, stride: int = 1) -> list[int]:
        """First forecast step of every window whose targets lie in ``part``."""
        start, end = self.bounds(part)
        return list(range(max(start, context), end - horizon + 1, stride))


@dataclass
class Scaler:
    """Per-variable standardisation, fitted on the train part only (stored in checkpoints)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> Scaler:
        std = values.std(axis=0)
        return cls(values.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return ((values - self.mean) / self.std).astype(np.float32)

    def to_json(self) -> str:
        return json.dumps({"mean": self.mean.tolist(), "std": self.std.tolist()})

    @classmethod
    def from_json(cls, text: str) -> Scaler:
        state = json.loads(text)
        return cls(np.asarray(state["mean"]), np.asarray(state["std"]))


def window_frame(scaled: np.ndarray, calendar: np.ndarray) -> torch.Tensor:
    """The scaled values, then the calendar features: one ``[T, V + K]`` float32 tensor, built once
    per series, that every split's windows are views of."""
    return torch.from_numpy(np.concatenate([scaled, calendar], axis=1).astype(np.float32))


def _windows(frame: torch.Tensor, size: int) -> torch.Tensor:
    """``[T - size + 1, size, F]``: row ``s`` is ``frame[s : s + size]``; a strided view, no copy."""
    return frame.unfold(0, size, 1).transpose(1, 2)


class WindowBatches(LengthBucketedBatches):
    """Windows at ``origins`` of a ``window_frame`` with ``variables`` value columns. Each batch:
    ``inputs [B, context, V + K]`` (values, then K calendar features), ``future [B, horizon, K]``
    (the calendar of the forecast steps), ``targets [B, horizon, V]`` (scaled) and ``index [B]``
    (position in ``origins``). Every window has the same length, so the bucketing base only
    shuffles, shards and resumes.

    The windows are ``unfold`` views of the frame, so memory stays flat in the number of windows
    and a batch is three ``index_select`` gathers: assembling it in the main process costs no
    Python loop per window and stays off the training step's path."""

    def __init__(
        self,
        frame: torch.Tensor,
        variables: int,
        origins: Sequence[int],
        context: int,
        horizon: int,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        super().__init__([context] * len(origins), batch_size, shuffle, seed, rank, world)
        self.origins = torch.tensor(list(origins), dtype=torch.long)
        self.context, self.horizon = context, horizon
        self.past = _windows(frame, context)
        self.future_values = _windows(frame[:, :variables], horizon)
        self.future_calendar = _windows(frame[:, variables:], horizon)

    def collate(self, indices: list[int]) -> dict[str, torch.Tensor]:
        index = torch.tensor(indices, dtype=torch.long)
        origins = self.origins.index_select(0, index)
        return {
            "inputs": self.past.index_select(0, origins - self.context),
            "future": self.future_calendar.index_select(0, origins),
            "targets": self.future_values.index_select(0, origins),
            "index": index,
        }
