"""``lstm-apps predict`` for the forecaster: the next ``horizon`` steps after a CSV's latest rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import torch

from lstm_apps.apps.forecaster.model import ForecasterModel
from lstm_apps.apps.forecaster.time_series import TimeSeries, format_time, read_series_csv
from lstm_apps.errors import UserError
from lstm_apps.pipeline.predictor import Prediction, Predictor, existing_file


@dataclass
class ForecasterOptions:
    """The options of ``configs/predict/forecaster.yaml``."""

    input_file: str | None = None
    output_file: str | None = None


class ForecasterPredictor(Predictor[ForecasterModel, ForecasterOptions]):
    """A CSV: the time column, then each column's point forecast (and, with quantiles, the
    interval's bounds). One window, so one direct call of the model."""

    options_type = ForecasterOptions
    main_input = "input_file"

    def predict(self) -> Prediction:
        model, path = self.model, self.options.input_file
        if path is None:
            raise UserError("predict: give input_file=series.csv (the series' latest rows, oldest first)")
        series = read_series_csv(
            existing_file(path, "input_file"), "input_file", model.time_column, model.columns
        )
        forecast = self.forecast([series], [f"input_file: {path}"])[0]
        header = [model.time_column]
        for column in model.columns:
            header += [column]
            if forecast.lower is not None:
                header += [f"{column}_q{model.quantiles[0]:g}", f"{column}_q{model.quantiles[-1]:g}"]
        rows = [",".join(header)]
        for step, time in enumerate(forecast.times):
            cells = [format_time(time)]
            for v in range(model.variables):
                cells.append(f"{forecast.point[step, v]:.6g}")
                if forecast.lower is not None and forecast.upper is not None:
                    cells += [f"{forecast.lower[step, v]:.6g}", f"{forecast.upper[step, v]:.6g}"]
            rows.append(",".join(cells))
        return Prediction("\n".join(rows) + "\n", f"forecast of {model.horizon} steps")

    def forecast(self, series: list[TimeSeries], names: list[str]) -> list[Forecast]:
        """The next ``horizon`` steps after each series (``names`` say which, in errors), as one
        batch."""
        model = self.model
        for one, name in zip(series, names, strict=True):
            if len(one) < model.context:
                raise UserError(f"{name} has {len(one)} rows; the model reads the last {model.context}")
        futures = [one.future_times(model.horizon) for one in series]
        found = model.forecast_many(
            [(one.values, one.times, future) for one, future in zip(series, futures, strict=True)]
        )
        forecasts = []
        for future, forecast in zip(futures, found, strict=True):
            point, interval = model.point_and_interval(forecast)
            lower, upper = interval if interval is not None else (None, None)
            forecasts.append(Forecast(future, point, lower, upper))
        return forecasts


@dataclass
class Forecast:
    """The forecast times and ``[horizon, V]`` point forecasts, with the outermost quantiles'
    bounds when the model has quantiles."""

    times: list[datetime | float]
    point: torch.Tensor
    lower: torch.Tensor | None
    upper: torch.Tensor | None


PREDICTOR = ForecasterPredictor
