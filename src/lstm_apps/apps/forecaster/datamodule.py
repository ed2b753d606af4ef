"""Forecaster data: one regular series, split by time, scaled with train statistics, cut into windows."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch

from lstm_apps.apps.forecaster.time_series import CALENDAR_FEATURES, TimeSeries, calendar_features
from lstm_apps.apps.forecaster.windows import Scaler, TimeSplit, WindowBatches, window_frame
from lstm_apps.bounds import Fraction, Positive, Seed
from lstm_apps.pipeline.app_datamodule import BucketedDataModule


class SeriesSource(Protocol):
    season_length: int

    def load(self) -> TimeSeries: ...


class ForecastDataModule(BucketedDataModule):
    """``context`` past steps in, ``horizon`` future steps out. ``calendar``: add the position in
    the year (sin, cos) of every input and forecast step, for date-stamped series. ``eval_stride``:
    step between evaluation windows (1 = a forecast from every origin)."""

    def __init__(
        self,
        series: SeriesSource,
        context: Positive = 104,
        horizon: Positive = 26,
        val_fraction: Fraction = 0.15,
        test_fraction: Fraction = 0.15,
        calendar: bool = True,
        eval_stride: Positive = 1,
        batch_size: Positive = 32,
        eval_batch_size: Positive = 256,
        seed: Seed = 0,
    ) -> None:
        super().__init__(source=series)
        self.series_source = series
        self.context, self.horizon = context, horizon
        self.fractions = (val_fraction, test_fraction)
        self.calendar = calendar
        self.eval_stride = eval_stride
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.seed = seed
        self.series: TimeSeries | None = None
        self.split: TimeSplit | None = None
        self.scaler: Scaler | None = None
        self.frame: torch.Tensor | None = None  # scaled values, then calendar: [T, V + K]
        self.origins: dict[str, list[int]] = {}

    @property
    def calendar_size(self) -> int:
        return (
            CALENDAR_FEATURES if self.calendar and self.series is not None and self.series.has_calendar else 0
        )

    def setup(self, stage: str | None = None) -> None:
        if self.series is not None:
            return
        self.series = self.series_source.load()
        self.split = TimeSplit.of(len(self.series), *self.fractions, self.context, self.horizon)
        if self._fitted_state is not None:
            self.scaler = Scaler.from_json(self._fitted_state["scaler"])
        else:
            self.scaler = Scaler.fit(self.series.values[: self.split.train_end])
        calendar = calendar_features(self.series.times)[:, : self.calendar_size]
        self.frame = window_frame(self.scaler.transform(self.series.values), calendar)
        for part in ("train", "val", "test"):
            stride = 1 if part == "train" else self.eval_stride
            self.origins[part] = self.split.origins(part, self.context, self.horizon, stride)

    def fitted_state(self) -> dict[str, str]:
        assert self.scaler is not None, "setup() first"
        return {"scaler": self.scaler.to_json()}

    def handoff(self) -> dict[str, Any]:
        assert self.series is not None and self.scaler is not None, "setup() first"
        return {
            "columns": list(self.series.columns),
            "time_column": self.series.time_column,
            "calendar_size": self.calendar_size,
            "context": self.context,
            "horizon": self.horizon,
            "scale_mean": self.scaler.mean.tolist(),
            "scale_std": self.scaler.std.tolist(),
        }

    def references(self, split: str) -> list[np.ndarray]:
        """Actual values ``[horizon, V]`` (original units) of every window of ``split``."""
        assert self.series is not None
        return [self.series.values[o : o + self.horizon] for o in self.origins[split]]

    def example_input(self, split: str, index: int) -> np.ndarray:
        """The input window ``[context, V]`` (original units) of window ``index`` of ``split``."""
        assert self.series is not None
        origin = self.origins[split][index]
        return self.series.values[origin - self.context : origin]

    def make_batches(
        self, split: str, batch_size: int, shuffle: bool, rank: int, world: int
    ) -> WindowBatches:
        assert self.frame is not None and self.series is not None, "setup() first"
        return WindowBatches(
            self.frame,
            len(self.series.columns),
            self.origins[split],
            self.context,
            self.horizon,
            batch_size,
            shuffle,
            self.seed,
            rank,
            world,
        )
