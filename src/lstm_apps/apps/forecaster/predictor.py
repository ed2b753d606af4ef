"""``lstm-apps predict`` for the forecaster: the next ``horizon`` steps after a CSV's latest rows."""

from __future__ import annotations

from dataclasses import dataclass

from lstm_apps.apps.forecaster.model import ForecasterModel
from lstm_apps.apps.forecaster.time_series import format_time, read_series_csv
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

    def predict(self) -> Prediction:
        model, path = self.model, self.options.input_file
        if path is None:
            raise UserError("predict: give input_file=series.csv (the series' latest rows, oldest first)")
        series = read_series_csv(
            existing_file(path, "input_file"), "input_file", model.time_column, model.columns
        )
        if len(series) < model.context:
            raise UserError(
                f"input_file: {path} has {len(series)} rows; the model reads the last {model.context}"
            )
        future = series.future_times(model.horizon)
        point, interval = model.point_and_interval(model.forecast_after(series.values, series.times, future))
        header = [model.time_column]
        for column in model.columns:
            header += [column]
            if interval is not None:
                header += [f"{column}_q{model.quantiles[0]:g}", f"{column}_q{model.quantiles[-1]:g}"]
        rows = [",".join(header)]
        for step, time in enumerate(future):
            cells = [format_time(time)]
            for v in range(model.variables):
                cells.append(f"{point[step, v]:.6g}")
                if interval is not None:
                    cells += [f"{interval[0][step, v]:.6g}", f"{interval[1][step, v]:.6g}"]
            rows.append(",".join(cells))
        return Prediction("\n".join(rows) + "\n", f"forecast of {model.horizon} steps")


PREDICTOR = ForecasterPredictor
