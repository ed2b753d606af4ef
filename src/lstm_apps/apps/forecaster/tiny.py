"""The forecaster on a short weekly series, for the tests: trains in a second or two on a CPU."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from lstm_apps.registry import QUIET, FormStep, Playground, Tiny


def weekly_values(n: int, seed: int = 0) -> np.ndarray:
    """A trend, a yearly season and a little noise: the shape of the CO2 series."""
    t = np.arange(n)
    noise = np.random.default_rng(seed).normal(0, 0.05, n)
    return 10 + 0.02 * t + np.sin(2 * math.pi * t / 52) + noise


def write_series(
    folder: Path, n: int = 260, values: np.ndarray | None = None, name: str = "series.csv"
) -> Path:
    """A weekly ``time,value`` CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    values = weekly_values(n) if values is None else values
    start = date(2000, 1, 1)
    rows = [f"{start + timedelta(weeks=i)},{v:.6f}" for i, v in enumerate(values)]
    path = folder / name
    path.write_text("time,value\n" + "\n".join(rows) + "\n")
    return path


def tiny_forecaster_overrides(path: Path) -> list[str]:
    return [
        "app=forecaster",
        "data/series=csv_file",
        f"data.series.path={path}",
        "data.context=20",
        "data.horizon=4",
        "data.val_fraction=0.2",
        "data.test_fraction=0.2",
        "data.batch_size=16",
        "model.hidden_size=16",
        "model.num_layers=1",
        "model.dropout=0.0",
        "optimizer.lr=0.01",
        "scheduler=none",
        *QUIET,
        "trainer.log_every_n_steps=1",
    ]


def tiny(folder: Path) -> Tiny:
    series = write_series(folder / "data", 200)
    rows = [line.split(",") for line in series.read_text().strip().splitlines()[1:]]
    return Tiny(
        tiny_forecaster_overrides(series),
        [f"input_file={series}"],
        request_json={"time": [r[0] for r in rows], "values": {"value": [float(r[1]) for r in rows]}},
        answer_keys=frozenset({"time", "forecast"}),
        playground=Playground((FormStep("click", "#example"),), "#forecast tbody tr"),
    )
