"""Forecaster: the CSV reader, the split by time without leakage, baselines, training, CLI."""

from __future__ import annotations

import math
import warnings
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import torch

import lstm_apps.apps.forecaster.prepare as prepare_forecaster
from helpers.config import compose_config
from helpers.running import run_in_process
from helpers.serving import (
    browser_or_skip,
    check_info,
    open_playground,
    predictor_of,
    served,
    submit_and_wait,
    trained,
)
from lstm_apps.apps.forecaster.baseline import ets_forecasts, seasonal_naive
from lstm_apps.apps.forecaster.datamodule import ForecastDataModule
from lstm_apps.apps.forecaster.model import ForecasterModel
from lstm_apps.apps.forecaster.predictor import ForecasterOptions, ForecasterPredictor
from lstm_apps.apps.forecaster.scores import forecast_scores
from lstm_apps.apps.forecaster.time_series import SeriesFile, StatsmodelsSeries, read_series_csv
from lstm_apps.apps.forecaster.tiny import tiny_forecaster_overrides, weekly_values, write_series
from lstm_apps.apps.forecaster.windows import TimeSplit, WindowBatches, window_frame
from lstm_apps.apps.preparation import datasets
from lstm_apps.errors import UserError
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
from lstm_apps.pipeline.train import train


# -- reader -------------------------------------------------------------------------------------
def test_reader_finds_weekly_monthly_and_numeric_steps(tmp_path: Path) -> None:
    weekly = read_series_csv(write_series(tmp_path, 10), "d")
    assert weekly.step.describe() == "7 day(s)" and weekly.values.shape == (10, 1)
    assert str(weekly.future_times(2)[1].date()) == "2000-03-18"
    monthly = tmp_path / "m.csv"
    monthly.write_text("month,a,b\n2020-11-30,1,2\n2020-12-30,2,3\n2021-01-30,3,4\n")
    series = read_series_csv(monthly, "d", "month")
    assert series.columns == ["a", "b"] and series.step.describe() == "1 month(s)"
    assert [str(t.date()) for t in series.future_times(2)] == ["2021-02-28", "2021-03-30"]
    month_ends = tmp_path / "e.csv"
    month_ends.write_text("time,v\n2021-01-31,1\n2021-02-28,2\n2021-03-31,3\n")
    assert [str(t.date()) for t in read_series_csv(month_ends, "d").future_times(2)] == [
        "2021-04-30",
        "2021-05-31",
    ]
    years = tmp_path / "y.csv"
    years.write_text("year,spots\n1700,5\n1701,11\n1702,16\n")
    assert read_series_csv(years, "d", "year").future_times(2) == [1703.0, 1704.0]


@pytest.mark.parametrize(
    "content,message",
    [
        (
            "time,v\n2000-01-01,1\n2000-01-08,2\n2000-01-22,3\n",
            "s.csv:4: 2000-01-22 follows 2000-01-08, breaking the regular step of 7 day(s)",
        ),
        (
            "time,v\n2000-01-01,1\n2000-01-08,n/a\n2000-01-15,3\n",
            "s.csv:3: column 'v' holds 'n/a', not a number",
        ),
        ("time,v\n2000-01-01,1\n2000-01-08,\n2000-01-15,3\n", "s.csv:3: column 'v' holds '', not a number"),
        ("time,v\n2000-01-01,1\n2000-01-01,2\n", "s.csv:3: times must increase"),
        ("time,v\n1,1\nsoon,2\n", "s.csv:3: time 'soon' is neither a number nor an ISO date"),
        ("when,v\n1,1\n", "s.csv:1: no time column 'time' (found: when, v)"),
        ("time,v\n1,1\n2,2,3\n", "s.csv:3: 3 columns, the header has 2"),
    ],
)
def test_reader_names_the_row_at_fault(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "s.csv"
    path.write_text(content)
    with pytest.raises(UserError) as caught:
        read_series_csv(path, "data.series.path")
    assert message in str(caught.value)


def test_embedded_series_are_written_once_and_read_back(tmp_path: Path) -> None:
    co2 = StatsmodelsSeries("co2", str(tmp_path), season_length=52).load()
    assert co2.step.describe() == "7 day(s)" and len(co2) == 2284 and np.isfinite(co2.values).all()
    assert str(co2.times[0].date()) == "1958-03-29" and 310 < co2.values[0, 0] < 320
    sunspots = StatsmodelsSeries("sunspots", str(tmp_path), season_length=11).load()
    assert sunspots.times[0] == 1700.0 and len(sunspots) == 309


# -- no look-ahead ------------------------------------------------------------------------------
def _datamodule(path: Path) -> ForecastDataModule:
    data = ForecastDataModule(
        SeriesFile(str(path), season_length=1),
        context=20,
        horizon=4,
        val_fraction=0.2,
        test_fraction=0.2,
        batch_size=8,
    )
    data.setup()
    return data


def test_nothing_after_the_train_part_reaches_training(tmp_path: Path) -> None:
    values = weekly_values(200)
    data = _datamodule(write_series(tmp_path, values=values))
    split = data.split
    assert split is not None and (split.train_end, split.val_end) == (120, 160)
    assert data.scaler is not None
    assert np.allclose(data.scaler.mean, values[:120].mean()) and np.allclose(
        data.scaler.std, values[:120].std()
    )
    # The same series with val/test replaced by wild values: training must not change at all.
    changed = values.copy()
    changed[120:] = 1e4 * np.random.default_rng(1).normal(size=80)
    other = _datamodule(write_series(tmp_path / "changed", values=changed))
    assert other.scaler is not None and np.allclose(other.scaler.mean, data.scaler.mean)
    first = list(data.make_batches("train", 8, shuffle=False, rank=0, world=1))
    second = list(other.make_batches("train", 8, shuffle=False, rank=0, world=1))
    assert len(first) == len(second) > 0
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a["inputs"], b["inputs"]) and torch.equal(a["targets"], b["targets"])


def test_windows_are_cut_in_time_order_within_their_part() -> None:
    split = TimeSplit.of(200, 0.2, 0.2, context=20, horizon=4)
    for part in ("train", "val", "test"):
        start, end = split.bounds(part)
        origins = split.origins(part, 20, 4)
        assert origins == sorted(origins) and origins[0] >= max(start, 20) and origins[-1] + 4 <= end
    assert split.origins("val", 20, 4)[0] == 120 and split.origins("test", 20, 4)[-1] == 196
    with pytest.raises(UserError, match="must each hold one horizon"):
        TimeSplit.of(50, 0.05, 0.2, context=5, horizon=4)


def fancy_indexed_windows(
    scaled: np.ndarray, calendar: np.ndarray, origins: list[int], context: int, horizon: int
) -> dict[str, torch.Tensor]:
    """The reference: each window's steps picked by integer indices, values and calendar apart."""
    values, days = torch.from_numpy(scaled), torch.from_numpy(calendar.astype(np.float32))
    at = torch.tensor(origins)
    past = at.unsqueeze(1) + torch.arange(-context, 0).unsqueeze(0)
    ahead = at.unsqueeze(1) + torch.arange(horizon).unsqueeze(0)
    return {
        "inputs": torch.cat([values[past], days[past]], dim=-1),
        "future": days[ahead],
        "targets": values[ahead],
    }


@pytest.mark.parametrize("calendar_size", [2, 0])
def test_window_batches_gather_what_fancy_indexing_builds(calendar_size: int) -> None:
    rng = np.random.default_rng(0)
    scaled = rng.normal(size=(300, 3)).astype(np.float32)
    calendar = rng.normal(size=(300, calendar_size))  # float64, as calendar_features returns it
    origins = list(range(30, 290, 3))
    batches = WindowBatches(
        window_frame(scaled, calendar), 3, origins, context=30, horizon=10, batch_size=7, shuffle=True, seed=3
    )
    seen = []
    for batch in batches:
        chosen = batch["index"].tolist()
        expected = fancy_indexed_windows(scaled, calendar, [origins[i] for i in chosen], 30, 10)
        assert batch.keys() == {"inputs", "future", "targets", "index"}
        for key, tensor in expected.items():
            assert batch[key].dtype == torch.float32 and batch[key].is_contiguous()
            assert torch.equal(batch[key], tensor), key
        seen += chosen
    assert sorted(seen) == list(range(len(origins)))
    # Views of one frame: the windows hold no copy of the series.
    assert batches.past.untyped_storage().data_ptr() == batches.future_values.untyped_storage().data_ptr()


# -- baselines ----------------------------------------------------------------------------------
def test_seasonal_naive_repeats_the_last_season() -> None:
    values = np.tile(np.arange(4.0), 10)[:, None]
    forecasts = seasonal_naive(values, [12, 20], horizon=6, season=4)
    assert np.array_equal(forecasts[:, :, 0], values[[[12, 13, 14, 15, 16, 17], [20, 21, 22, 23, 24, 25]], 0])
    last_value = seasonal_naive(values, [13], horizon=3, season=1)
    assert np.array_equal(last_value[0, :, 0], [values[12, 0]] * 3)


def test_ets_forecasts_from_each_origin_match_statsmodels_at_the_train_end() -> None:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    values = weekly_values(300)[:, None]
    split = TimeSplit.of(300, 0.2, 0.2, context=20, horizon=8)
    mine = ets_forecasts(values, split, [split.train_end], 8, 52)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = ExponentialSmoothing(
            values[: split.train_end, 0], trend="add", seasonal="add", seasonal_periods=52
        ).fit()
    assert np.allclose(mine[0, :, 0], fitted.forecast(8), atol=1e-8)


def test_forecast_scores() -> None:
    scores = forecast_scores(
        np.array([[[1.0], [3.0]]]), np.array([[[2.0], [3.0]]]), (np.zeros((1, 2, 1)), np.full((1, 2, 1), 2.5))
    )
    assert scores.mae == 0.5 and scores.rmse == pytest.approx(math.sqrt(0.5)) and scores.coverage == 50.0
    assert scores.smape == pytest.approx(100 * (2 / 3) / 2)


def test_pinball_loss_is_the_quantile_loss() -> None:
    model = ForecasterModel(["v"], "time", 0, 3, 2, [0.0], [1.0], quantiles=[0.1, 0.9])
    predicted = torch.zeros(1, 2, 1, 2)
    targets = torch.tensor([[[1.0], [-1.0]]])
    # under-forecast by 1 costs q, over-forecast by 1 costs 1 - q: (0.1 + 0.9 + 0.9 + 0.1) / 4
    assert model.loss(predicted, targets).item() == pytest.approx(0.5)


def test_conformal_widening_gives_the_interval_its_nominal_coverage() -> None:
    model = ForecasterModel(["v"], "time", 0, 3, 2, [0.0], [1.0], quantiles=[0.1, 0.5, 0.9])
    generator = torch.Generator().manual_seed(0)
    actual = torch.randn(2000, 2, 1, generator=generator) * torch.tensor([1.0, 3.0]).view(1, 2, 1)
    too_narrow = torch.stack([actual * 0 - 0.5, actual * 0, actual * 0 + 0.5], dim=-1)

    def coverage(forecast: torch.Tensor) -> torch.Tensor:
        inside = (forecast[..., 0] <= actual) & (actual <= forecast[..., -1])
        return inside.float().mean(dim=0).squeeze(-1)

    assert (coverage(too_narrow) < 0.4).all()
    model.fit_widening(too_narrow, actual)
    widened = model.calibrated(too_narrow)
    assert torch.allclose(coverage(widened), torch.tensor([0.8, 0.8]), atol=0.01), "per horizon step"
    assert model.interval_widening[1, 0] > 2 * model.interval_widening[0, 0], "the wider step widens more"
    assert torch.equal(widened[..., 1], too_narrow[..., 1]), "the median is left alone"
    state = {k: v for k, v in model.state_dict().items() if k != "interval_widening"}
    ForecasterModel(["v"], "time", 0, 3, 2, [0.0], [1.0], quantiles=[0.1, 0.5, 0.9]).load_state_dict(state)


# -- training and the command line --------------------------------------------------------------
@pytest.mark.parametrize("head", ["direct", "seq2seq"])
def test_learns_the_series_better_than_seasonal_naive(tmp_path: Path, head: str) -> None:
    path = write_series(tmp_path, 400)
    overrides = [*tiny_forecaster_overrides(path), f"model.head={head}", "trainer.max_epochs=12"]
    metrics = train(compose_config("train", overrides, tmp_path / "run"))
    data = _datamodule(path)
    data.context, data.horizon = 20, 4
    actual = np.stack(data.references("test"))
    naive = forecast_scores(seasonal_naive(data.series.values, data.origins["test"], 4, 52), actual)
    assert metrics["test/mae"] < naive.mae, (metrics, naive.mae)


def test_train_predict_with_quantiles_through_the_cli(tmp_path: Path) -> None:
    path = write_series(tmp_path / "data", 260)
    args = [
        "train",
        *tiny_forecaster_overrides(path),
        "model.quantiles=[0.1,0.5,0.9]",
        "model.head=seq2seq",
        "trainer.max_epochs=3",
        "hydra.run.dir=run",
    ]
    result = run_in_process(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    result = run_in_process(["predict", f"ckpt_path={ckpt}", f"input_file={path}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "time,value,value_q0.1,value_q0.9" and len(lines) == 5
    last = read_series_csv(path, "d").times[-1]
    assert lines[1].startswith(str((last + timedelta(weeks=1)).date()))
    assert all(np.isfinite([float(c) for c in line.split(",")[1:]]).all() for line in lines[1:])
    short = write_series(tmp_path / "short", 10)
    result = run_in_process(["predict", f"ckpt_path={ckpt}", f"input_file={short}"], cwd=tmp_path)
    assert result.returncode != 0 and "has 10 rows; the model reads the last 20" in result.stderr
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = next((tmp_path / "run" / "tensorboard").rglob("events.out.tfevents.*"))
    images = EventAccumulator(str(events.parent)).Reload().Tags()["images"]
    assert any(tag.startswith("forecasts/val_window_") for tag in images), images


def test_forecast_images_are_drawn_only_every_n_epochs(tmp_path: Path, monkeypatch) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    import lstm_apps.apps.forecaster.model as forecaster_model

    drawn: list[int] = []
    draw = forecaster_model.forecast_image
    monkeypatch.setattr(forecaster_model, "forecast_image", lambda *a, **k: drawn.append(1) or draw(*a, **k))
    path = write_series(tmp_path, 200)
    overrides = [
        *tiny_forecaster_overrides(path),
        "trainer.max_epochs=3",
        "model.log_examples=2",
        "callbacks.early_stopping=null",
        "callbacks.samples.images_every_n_epochs=2",
    ]
    train(compose_config("train", overrides, tmp_path / "run"))
    events = EventAccumulator(str(next((tmp_path / "run").rglob("events.out.tfevents.*")).parent)).Reload()
    validations = [event.step for event in events.Scalars("val/mae")]
    assert len(validations) == 3
    per_epoch = validations[1] - validations[0]  # images carry the global step after the epoch's last batch
    tags = [tag for tag in events.Tags()["images"] if tag.startswith("forecasts/val_window_")]
    assert len(tags) == 2
    for tag in tags:
        assert [image.step for image in events.Images(tag)] == [per_epoch, 3 * per_epoch]
    assert len(drawn) == 2 * 2  # two windows, at epochs 0 and 2 only: nothing drawn at epoch 1


def test_several_variables_are_read_forecast_and_printed(tmp_path: Path) -> None:

    values = weekly_values(200)
    start = date(2000, 1, 1)
    path = tmp_path / "two.csv"
    path.write_text(
        "time,load,temperature\n"
        + "".join(f"{start + timedelta(weeks=i)},{v:.5f},{20 - 3 * v:.5f}\n" for i, v in enumerate(values))
    )
    overrides = [*tiny_forecaster_overrides(path), "trainer.max_epochs=2", "model.head=seq2seq"]
    metrics = train(compose_config("train", overrides, tmp_path / "run"))
    assert np.isfinite(metrics["test/mae"])
    model = model_from_checkpoint(read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt"))
    assert model.columns == ["load", "temperature"] and model.calendar_size == 2
    lines = ForecasterPredictor(model, ForecasterOptions(input_file=str(path))).predict().text.splitlines()
    assert lines[0] == "time,load,temperature" and len(lines) == 1 + 4 and len(lines[1].split(",")) == 3


def test_baseline_command_scores_both_baselines_on_the_test_windows(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    from lstm_apps.apps.forecaster.baseline import main

    monkeypatch.chdir(tmp_path)
    path = write_series(tmp_path, 200)
    main(
        [
            "data/series=csv_file",
            f"data.series.path={path}",
            "data.series.season_length=52",
            "data.context=20",
            "data.horizon=4",
            "data.val_fraction=0.2",
            "data.test_fraction=0.2",
        ]
    )
    printed = capsys.readouterr().out
    assert "baselines on the test windows (37 forecasts of 4 steps)" in printed
    assert "| seasonal naive (season 52) |" in printed and "| ETS (Holt-Winters) |" in printed


# -------------------------------------------------------------------------------- served over HTTP
@pytest.mark.slow
@pytest.mark.serves("forecaster")
def test_forecaster_answers_the_forecast_of_a_json_series(tmp_path: Path) -> None:
    ckpt, setup = trained("forecaster")
    csv_path = Path(setup.predict[0].split("=", 1)[1])
    lines = csv_path.read_text().strip().splitlines()[1:]
    series = {
        "time": [line.split(",")[0] for line in lines],
        "values": {"value": [float(line.split(",")[1]) for line in lines]},
    }
    with served("forecaster") as server:
        check_info(server, "forecaster", ckpt)
        answer = server.post("/predict", json=series).json()
        expected = predictor_of(ckpt, input_file=str(csv_path)).predict().text.strip().splitlines()[1:]
        assert answer["time"] == [row.split(",")[0] for row in expected]
        assert answer["forecast"]["value"] == pytest.approx(
            [float(row.split(",")[1]) for row in expected], rel=1e-4
        )
        short = {"time": series["time"][:3], "values": {"value": series["values"]["value"][:3]}}
        assert (
            server.post("/predict", json=short)
            .json()["detail"]
            .startswith("time: 3 rows; the model reads the last")
        )
        wrong = {"time": series["time"], "values": {"price": series["values"]["value"]}}
        assert server.post("/predict", json=wrong).json()["detail"].startswith("values.value: missing")
        gap = {
            "time": series["time"][:5] + series["time"][6:],
            "values": {"value": series["values"]["value"][1:]},
        }
        assert "breaking the regular step" in server.post("/predict", json=gap).json()["detail"]

        driver = browser_or_skip()
        try:
            from selenium.webdriver.common.by import By

            open_playground(driver, server, "forecaster")
            driver.find_element(By.ID, "example").click()
            submit_and_wait(driver, "chart")
            assert len(driver.find_elements(By.CSS_SELECTOR, "#forecast tbody tr")) == len(answer["time"])
            assert driver.find_elements(By.CSS_SELECTOR, "#chart polyline.forecast")
        finally:
            driver.quit()


def test_prepare_offers_the_statsmodels_series() -> None:
    assert set(datasets("forecaster")) == {"co2", "sunspots"}


# -------------------------------------------------------------------------------- public data sets (lstm-apps prepare)
def test_forecaster_series_is_written_as_the_csv_the_config_reads(tmp_path: Path) -> None:
    from lstm_apps.apps.forecaster.time_series import read_series_csv

    written = prepare_forecaster.prepare("sunspots", tmp_path)
    assert written["series"] == tmp_path / "sunspots.csv"
    series = read_series_csv(written["series"], "sunspots", "year", ["sunactivity"])
    assert len(series.values) == 309  # 1700-2008
    with pytest.raises(UserError, match="nothing to download"):
        prepare_forecaster.prepare("co2", tmp_path, "file:///mirror")
