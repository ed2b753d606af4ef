"""Time-series forecasting: windows of one or many series, an LSTM, a direct or seq2seq head,
quantile intervals; scored against seasonal naive and ETS."""

from __future__ import annotations

from pathlib import Path

from lstm_apps.registry import App, Bench, Extra, FormStep, Playground


def last_three_years_of_co2(scratch: Path) -> str:
    """The embedded CO2 series' last three years as the form's CSV."""
    from lstm_apps.apps.forecaster.time_series import write_statsmodels_series

    lines = write_statsmodels_series("co2", scratch).read_text().strip().splitlines()
    return "\n".join([lines[0], *lines[-156:]])


APP = App(
    name="forecaster",
    package=__name__,
    summary="windows of series, LSTM, direct or seq2seq head, quantiles; MAE/RMSE/sMAPE vs baselines",
    extras=(Extra("forecast", ("statsmodels",)),),
    bench=Bench(units="windows", steps=40, scaling_steps=20),
    example=Playground((FormStep("fill", "#series", last_three_years_of_co2),), "#chart"),
)
