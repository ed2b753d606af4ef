"""Forecast errors in the series' own units, shared by the model's evaluation and the baselines
so that both are scored on exactly the same windows the same way."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ForecastScores:
    mae: float
    rmse: float
    smape: float  # symmetric MAPE in %, 0..200
    mae_by_step: np.ndarray
    coverage: float | None = None  # share of actual values inside the interval, in %

    def as_metrics(self) -> dict[str, float]:
        metrics = {"mae": self.mae, "rmse": self.rmse, "smape": self.smape}
        if self.coverage is not None:
            metrics["coverage"] = self.coverage
        return metrics

    def table(self, name: str = "model") -> str:
        """Overall scores, then MAE at a few horizon steps (markdown)."""
        steps = sorted({0, len(self.mae_by_step) // 4, len(self.mae_by_step) // 2, len(self.mae_by_step) - 1})
        head = "| forecaster | MAE | RMSE | sMAPE % |" + "".join(f" MAE step {s + 1} |" for s in steps)
        rule = "|---|---:|---:|---:|" + "---:|" * len(steps)
        row = f"| {name} | {self.mae:.4g} | {self.rmse:.4g} | {self.smape:.3f} |" + "".join(
            f" {self.mae_by_step[s]:.4g} |" for s in steps
        )
        return "\n".join([head, rule, row])


def forecast_scores(
    predicted: np.ndarray, actual: np.ndarray, interval: tuple[np.ndarray, np.ndarray] | None = None
) -> ForecastScores:
    """``predicted``/``actual``: ``[windows, horizon, variables]`` in original units."""
    predicted, actual = np.asarray(predicted, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    error = predicted - actual
    scale = np.abs(predicted) + np.abs(actual)
    smape = np.where(scale > 0, 2 * np.abs(error) / np.where(scale > 0, scale, 1), 0.0)
    coverage = None
    if interval is not None:
        inside = (actual >= interval[0]) & (actual <= interval[1])
        coverage = float(100 * inside.mean())
    return ForecastScores(
        float(np.abs(error).mean()),
        float(np.sqrt((error**2).mean())),
        float(100 * smape.mean()),
        np.abs(error).mean(axis=(0, 2)),
        coverage,
    )
