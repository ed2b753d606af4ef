"""Classical reference forecasters, scored on exactly the forecaster's test windows:

- seasonal naive: each step repeats the value one season earlier (``season_length`` steps;
  1 = the last value). What any model must beat to be worth running.
- ETS (Holt-Winters, statsmodels): additive trend and season, fitted on the train part only;
  its smoothing equations are then run with those fixed parameters through the rest of the series,
  so every test window is forecast from the level, trend and season known at its origin.

    python -m lstm_apps.apps.forecaster.baseline [data.series=sunspots data.context=44 ...]

The arguments are config overrides of the forecaster app, so the windows are the ones training
and ``lstm-apps eval`` use.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from lstm_apps.apps.forecaster.scores import ForecastScores, forecast_scores
from lstm_apps.apps.forecaster.windows import TimeSplit
from lstm_apps.extras import require_extra


def seasonal_naive(values: np.ndarray, origins: list[int], horizon: int, season: int) -> np.ndarray:
    """Forecasts ``[windows, horizon, V]``: step ``h`` repeats ``values[origin + h - k*season]``
    for the smallest ``k`` that lands before the origin."""
    steps = np.arange(horizon)
    back = season * (steps // season + 1)
    index = np.asarray(origins)[:, None] + steps[None, :] - back[None, :]
    return values[index]


def ets_forecasts(
    values: np.ndarray, split: TimeSplit, origins: list[int], horizon: int, season: int
) -> np.ndarray:
    """Holt-Winters forecasts ``[windows, horizon, V]``, one model per variable."""
    require_extra("forecast", "the Holt-Winters baseline")
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    forecasts = np.zeros((len(origins), horizon, values.shape[1]))
    seasonal = "add" if season > 1 else None
    periods = season if season > 1 else None
    steps = np.arange(1, horizon + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for v in range(values.shape[1]):
            fitted = ExponentialSmoothing(
                values[: split.train_end, v], trend="add", seasonal=seasonal, seasonal_periods=periods
            ).fit()
            p = fitted.params
            known = {"initial_level": p["initial_level"], "initial_trend": p["initial_trend"]}
            if seasonal:
                known["initial_seasonal"] = p["initial_seasons"]
            filtered = ExponentialSmoothing(
                values[:, v],
                trend="add",
                seasonal=seasonal,
                seasonal_periods=periods,
                initialization_method="known",
                **known,
            ).fit(
                smoothing_level=p["smoothing_level"],
                smoothing_trend=p["smoothing_trend"],
                smoothing_seasonal=p["smoothing_seasonal"] if seasonal else None,
                optimized=False,
            )
            last = np.asarray(origins) - 1  # the last observed step of each window
            level, trend = filtered.level[last], filtered.trend[last]
            forecast = level[:, None] + steps[None, :] * trend[:, None]
            if seasonal:
                back = season * ((steps - 1) // season + 1)
                forecast += filtered.season[last[:, None] + steps[None, :] - back[None, :]]
            forecasts[:, :, v] = forecast
    return forecasts


def baseline_scores(
    values: np.ndarray, split: TimeSplit, origins: list[int], horizon: int, season: int
) -> dict[str, ForecastScores]:
    actual = np.stack([values[o : o + horizon] for o in origins])
    return {
        f"seasonal naive (season {season})": forecast_scores(
            seasonal_naive(values, origins, horizon, season), actual
        ),
        "ETS (Holt-Winters)": forecast_scores(ets_forecasts(values, split, origins, horizon, season), actual),
    }


def main(argv: list[str] | None = None) -> None:
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from lstm_apps.paths import config_dir
    from lstm_apps.pipeline.run_name import register

    register()  # the configs' own resolvers (run directory, launch folder)
    overrides = sys.argv[1:] if argv is None else argv
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=["app=forecaster", *overrides])
    datamodule = instantiate(cfg.data)
    datamodule.setup("test")
    values = datamodule.series.values
    scores = baseline_scores(
        values,
        datamodule.split,
        datamodule.origins["test"],
        datamodule.horizon,
        int(datamodule.series_source.season_length),
    )
    print(
        f"baselines on the test windows ({len(datamodule.origins['test'])} forecasts of {datamodule.horizon} steps):"
    )
    for name, result in scores.items():
        print(result.table(name).splitlines()[-1] if name != next(iter(scores)) else result.table(name))


if __name__ == "__main__":
    main()
