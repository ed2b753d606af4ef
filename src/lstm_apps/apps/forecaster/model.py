"""Time-series forecaster: a recurrent encoder over the input window and a multi-step head
(direct, or a recurrent seq2seq decoder over the horizon), optionally trained on quantiles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from lstm_apps.apps.forecaster.network import ForecastNetwork
from lstm_apps.apps.forecaster.plots import forecast_image
from lstm_apps.apps.forecaster.scores import forecast_scores
from lstm_apps.apps.forecaster.time_series import calendar_features
from lstm_apps.apps.forecaster.windows import Scaler
from lstm_apps.bounds import Count, Fraction
from lstm_apps.core.export_graph import ExportGraph, GraphOf
from lstm_apps.pipeline.app_module import AppModule
from lstm_apps.pipeline.decoded_evaluation import DecodedEvaluation


class ForecasterModel(DecodedEvaluation[np.ndarray], AppModule):
    """Trains ``ForecastNetwork`` (``self.net``; ``**settings`` are its ``head``, ``hidden_size``,
    ``relative`` …). ``quantiles``: e.g. ``[0.1, 0.5, 0.9]`` trains on the pinball loss; the point
    forecast is the quantile nearest the median and the outermost two make the interval, widened
    by conformal calibration on the validation windows (``calibrate_intervals``)."""

    app_name = "forecaster"
    network = ForecastNetwork
    # Buffers (registered in __init__).
    scale_mean: torch.Tensor
    scale_std: torch.Tensor
    interval_widening: torch.Tensor

    def __init__(
        self,
        columns: list[str],
        time_column: str,
        calendar_size: int,
        context: int,
        horizon: int,
        scale_mean: list[float],
        scale_std: list[float],
        quantiles: list[Fraction] | None = None,
        calibrate_intervals: bool = True,
        log_examples: Count = 3,
        optimizer: Mapping[str, Any] | None = None,
        scheduler: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler)
        self.quantiles = sorted(float(q) for q in quantiles) if quantiles else []
        self.columns, self.time_column = list(columns), time_column
        self.variables, self.calendar_size = len(columns), calendar_size
        self.context, self.horizon = context, horizon
        self.log_examples = log_examples
        self.calibrate_intervals = calibrate_intervals and len(self.quantiles) >= 2
        self.outputs = max(1, len(self.quantiles))
        # Conformal widening of the outermost quantiles per horizon step and column, in the
        # series' units: fitted on each validation epoch's forecasts, kept in the checkpoint.
        self.register_buffer("interval_widening", torch.zeros(horizon, self.variables))
        self.register_load_state_dict_pre_hook(_uncalibrated_checkpoints_load)
        self.register_buffer("scale_mean", torch.tensor(scale_mean, dtype=torch.float32))
        self.register_buffer("scale_std", torch.tensor(scale_std, dtype=torch.float32))
        self.net = ForecastNetwork(self.variables, calendar_size, horizon, self.outputs, **settings)
        self.head = self.net.head
        self._report = ""
        self._plots: list[tuple[int, np.ndarray]] = []

    # -- model ----------------------------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
        """Scaled forecasts ``[B, horizon, V, Q]`` (``ForecastNetwork.forward``)."""
        return self.net(inputs, future)

    def loss(self, predicted: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Pinball loss averaged over quantiles, or the squared error for point forecasts."""
        predicted = predicted.float()
        if not self.quantiles:
            return (predicted.squeeze(-1) - targets).pow(2).mean()
        q = torch.tensor(self.quantiles, device=predicted.device)
        error = targets.unsqueeze(-1) - predicted
        return torch.maximum(q * error, (q - 1) * error).mean()

    def unscale(self, scaled: torch.Tensor) -> torch.Tensor:
        """Back to the series' units; ``scaled``: ``[..., V, Q]``."""
        return scaled.float() * self.scale_std.unsqueeze(-1) + self.scale_mean.unsqueeze(-1)

    def calibrated(self, forecast: torch.Tensor) -> torch.Tensor:
        """``forecast [..., horizon, V, Q]`` (series units) with its outermost quantiles moved
        apart by ``interval_widening`` (or together, where it is negative)."""
        if not self.calibrate_intervals:
            return forecast
        widening = self.interval_widening.to(forecast.device, forecast.dtype)
        low, high = forecast[..., :1] - widening.unsqueeze(-1), forecast[..., -1:] + widening.unsqueeze(-1)
        return torch.cat([low, forecast[..., 1:-1], high], dim=-1)

    def fit_widening(self, forecasts: torch.Tensor, actual: torch.Tensor) -> None:
        """Split-conformal calibration of the interval (conformalised quantile regression, Romano
        et al. 2019) on ``forecasts [N, horizon, V, Q]`` and ``actual [N, horizon, V]``: per step
        and column, the widening that makes the outer quantiles hold their nominal share of the
        windows (80 % for 0.1/0.9): the ``ceil((N + 1) * share) / N`` quantile of the scores
        ``max(low - actual, actual - high)``. A quantile loss alone gives intervals that are too
        narrow wherever the training windows are more alike than the later ones."""
        share = self.quantiles[-1] - self.quantiles[0]
        scores = torch.maximum(forecasts[..., 0] - actual, actual - forecasts[..., -1])
        n = scores.size(0)
        level = min(1.0, float(np.ceil((n + 1) * share) / n))
        self.interval_widening.copy_(torch.quantile(scores.float(), level, dim=0).to(self.interval_widening))

    def point_and_interval(
        self, forecast: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
        """The point forecast ``[..., V]`` and, with quantiles, the outermost interval."""
        if not self.quantiles:
            return forecast[..., 0], None
        median = min(range(len(self.quantiles)), key=lambda i: abs(self.quantiles[i] - 0.5))
        return forecast[..., median], (forecast[..., 0], forecast[..., -1])

    # -- training / evaluation ------------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.loss(self(batch["inputs"], batch["future"]), batch["targets"])
        self.log_training(batch["inputs"].size(0), loss=loss)
        return loss

    def _evaluate_batch(self, batch: dict[str, torch.Tensor], batch_idx: int, split: str) -> None:
        forecast = self.unscale(self(batch["inputs"], batch["future"])).cpu().numpy()
        self._decoded += list(zip(batch["index"].tolist(), forecast, strict=True))

    def _finish_epoch(self, split: str) -> None:
        forecasts, actual = self.decoded_with_references(split)
        if not forecasts:
            return
        stacked = torch.from_numpy(np.stack(forecasts))
        if self.calibrate_intervals:
            if split == "val":  # fitted on this epoch's validation windows, used on the test windows
                self.fit_widening(stacked, torch.from_numpy(np.stack(actual)).float())
            stacked = self.calibrated(stacked)
        point, interval = self.point_and_interval(stacked)
        bounds = (interval[0].numpy(), interval[1].numpy()) if interval is not None else None
        scores = forecast_scores(point.numpy(), np.stack(actual), bounds)
        # Every process scores the gathered forecasts of all processes, so the values agree.
        for name, value in scores.as_metrics().items():
            self.log(f"{split}/{name}", value, prog_bar=name == "mae", sync_dist=True)
        if split == "test":
            self._report = scores.table("LSTM " + self.head)
        elif self.log_examples:
            chosen = np.linspace(0, len(forecasts) - 1, self.log_examples).round().astype(int)
            self._plots = [(int(i), stacked[i].numpy()) for i in sorted(set(chosen.tolist()))]

    # -- what people see ------------------------------------------------------------------------
    def evaluation_report(self) -> str:
        return self._report

    def validation_images(self) -> dict[str, torch.Tensor]:
        if not self._plots or getattr(self._trainer, "datamodule", None) is None:
            return {}
        data = self.app_data()
        images = {}
        actual = data.references("val")
        for index, forecast in self._plots:
            point, interval = self.point_and_interval(torch.from_numpy(forecast))
            for v, column in enumerate(self.columns[:3]):
                band = (
                    (interval[0][:, v].numpy(), interval[1][:, v].numpy()) if interval is not None else None
                )
                images[f"forecasts/val_window_{index}/{column}"] = forecast_image(
                    data.example_input("val", index)[:, v],
                    actual[index][:, v],
                    point[:, v].numpy(),
                    band,
                    f"{column}: validation window {index}",
                )
        return images

    # -- inference ------------------------------------------------------------------------------
    @torch.no_grad()
    def decode_batch(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The app's decoding entry point: forecasts ``[B, horizon, V, Q]`` of a collated batch,
        in the series' units, the interval calibrated."""
        return self.calibrated(self.unscale(self(batch["inputs"], batch["future"])))

    @torch.no_grad()
    def forecast_after(self, values: np.ndarray, times: list, future_times: list) -> torch.Tensor:
        """Forecast ``[horizon, V, Q]`` (original units) following the last ``context`` rows."""
        return self.forecast_many([(values, times, future_times)])[0]

    def forecast_many(self, windows: list[tuple[np.ndarray, list, list]]) -> list[torch.Tensor]:
        """``forecast_after`` for several series at once, as one batch: ``(values, times, future
        times)`` each."""
        with self.evaluating():
            scaler = Scaler(self.scale_mean.cpu().numpy(), self.scale_std.cpu().numpy())
            inputs, ahead = [], []
            for values, times, future_times in windows:
                scaled = torch.from_numpy(scaler.transform(values[-self.context :]))
                past = torch.from_numpy(calendar_features(times[-self.context :])[:, : self.calendar_size])
                inputs.append(torch.cat([scaled, past], dim=-1))
                ahead.append(torch.from_numpy(calendar_features(future_times)[:, : self.calendar_size]))
            batch = torch.stack(inputs).to(self.device)
            forecast = self.calibrated(self.unscale(self(batch, torch.stack(ahead).to(self.device)))).cpu()
        return list(forecast)

    def export_graphs(self) -> list[ExportGraph]:
        """``forecast``: scaled ``inputs [B, context, V + K]`` (and, for the seq2seq head, the
        forecast steps' calendar ``future [B, horizon, K]``) -> forecasts ``[B, horizon, V, Q]`` in
        the series' units; the scaler, columns and quantiles go to ``forecast.json`` so that a
        runtime can scale its inputs."""
        uses_future = self.head == "seq2seq"

        def forecast(inputs: torch.Tensor, *future: torch.Tensor) -> tuple[torch.Tensor, ...]:
            ahead = (
                future[0] if future else inputs.new_zeros(inputs.size(0), self.horizon, self.calendar_size)
            )
            return (self.calibrated(self.unscale(self(inputs, ahead))),)

        def make_inputs(n: int) -> tuple[torch.Tensor, ...]:
            inputs = torch.randn(n, self.context, self.variables + self.calendar_size)
            return (inputs, torch.randn(n, self.horizon, self.calendar_size)) if uses_future else (inputs,)

        names = ["inputs", "future"] if uses_future else ["inputs"]
        axes = {name: {0: "batch"} for name in [*names, "forecast"]}
        extras = {
            "columns": self.columns,
            "context": self.context,
            "horizon": self.horizon,
            "calendar_size": self.calendar_size,
            "quantiles": self.quantiles,
            "scale_mean": self.scale_mean.tolist(),
            "scale_std": self.scale_std.tolist(),
        }
        return [
            ExportGraph(
                "forecast", GraphOf(self.net, forecast), make_inputs, names, ["forecast"], axes, extras
            )
        ]


def _uncalibrated_checkpoints_load(
    module: nn.Module, state_dict: dict[str, Any], prefix: str, *args: Any
) -> None:
    """Checkpoints from before the calibration have no widening: they load with none."""
    key = f"{prefix}interval_widening"
    if key not in state_dict and isinstance(module, ForecasterModel):
        state_dict[key] = torch.zeros_like(module.interval_widening)
