"""``lstm-apps serve`` for the forecaster: ``POST /predict`` with a series' latest rows -> the next
``horizon`` steps, with the interval when the model has quantiles."""

# No ``from __future__ import annotations`` here: LitServe hands these annotations to FastAPI as
# they are, and FastAPI needs the classes, not their names.

from pydantic import BaseModel, ConfigDict, Field

from lstm_apps.apps.forecaster.predictor import ForecasterPredictor
from lstm_apps.apps.forecaster.time_series import TimeSeries, format_time, series_from_rows
from lstm_apps.errors import UserError
from lstm_apps.serving.api import AppAPI, BadRequest

MAX_ROWS = 100_000


class ForecastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time: list[str | float] = Field(
        max_length=MAX_ROWS,
        description="the rows' times, oldest first, at a regular step (dates, date-times or numbers)",
        examples=[["2024-01-01", "2024-01-02", "2024-01-03"]],
    )
    values: dict[str, list[float]] = Field(
        description="column -> one value per time; the columns the model was trained on",
        examples=[{"value": [1.0, 2.0, 3.0]}],
    )


class ForecastResponse(BaseModel):
    time: list[str] = Field(description="the forecast steps' times")
    forecast: dict[str, list[float]] = Field(description="column -> point forecast per step")
    lower: dict[str, list[float]] | None = Field(description="column -> lowest quantile per step")
    upper: dict[str, list[float]] | None = Field(description="column -> highest quantile per step")
    quantiles: list[float] = Field(description="the quantiles of lower and upper (empty: no interval)")


class ForecasterAPI(AppAPI):
    summary = "forecast the next steps of a series"

    def warm_up_request(self) -> ForecastRequest:
        """The model's context of rows, numbered times, zeros in each of its columns."""
        model = self.model
        return ForecastRequest(
            time=[float(t) for t in range(model.context)],
            values={column: [0.0] * model.context for column in model.columns},
        )

    def decode_request(self, request: ForecastRequest, **kwargs: object) -> TimeSeries:
        model = self.model
        missing = [c for c in model.columns if c not in request.values]
        extra = [c for c in request.values if c not in model.columns]
        if missing or extra:
            field = f"values.{(missing or extra)[0]}"
            raise BadRequest(
                field,
                f"{'missing' if missing else 'not a column of the model'}; "
                f"the model forecasts {', '.join(model.columns)}",
            )
        for column in model.columns:
            if len(request.values[column]) != len(request.time):
                raise BadRequest(
                    f"values.{column}", f"{len(request.values[column])} values for {len(request.time)} times"
                )
        if len(request.time) < model.context:
            raise BadRequest("time", f"{len(request.time)} rows; the model reads the last {model.context}")
        rows = (
            (f"time[{i}]", str(time), [str(request.values[c][i]) for c in model.columns])
            for i, time in enumerate(request.time)
        )
        try:
            return series_from_rows(rows, list(model.columns), "time", model.time_column)
        except UserError as err:
            raise BadRequest("series", str(err)) from None

    def answer(self, items: list[TimeSeries]) -> list[dict]:
        predictor: ForecasterPredictor = self.the_predictor
        model = predictor.model
        forecasts = predictor.forecast(items, ["series"] * len(items))

        def by_column(table: object) -> dict[str, list[float]] | None:
            if table is None:
                return None
            return {c: table[:, v].tolist() for v, c in enumerate(model.columns)}  # type: ignore[index]

        return [
            {
                "time": [format_time(t) for t in forecast.times],
                "forecast": by_column(forecast.point),
                "lower": by_column(forecast.lower),
                "upper": by_column(forecast.upper),
                "quantiles": [model.quantiles[0], model.quantiles[-1]] if forecast.lower is not None else [],
            }
            for forecast in forecasts
        ]

    def encode_response(self, output: dict, **kwargs: object) -> ForecastResponse:
        return output  # type: ignore[return-value]


ENDPOINTS = [ForecasterAPI]
