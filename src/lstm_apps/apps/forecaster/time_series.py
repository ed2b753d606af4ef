"""Regularly spaced time series from CSV: the forecaster's input format, and the embedded series.

A CSV file with a header row, a time column and one or more value columns. Times are ISO dates
(``1958-03-29``, ``2001-12-01 06:00``) or plain numbers (years, sample counters); they must
advance by one fixed step (a number of seconds/days, or of calendar months). A gap, a repeated
time, an empty or non-numeric value is an error naming the row.
"""

from __future__ import annotations

import calendar
import csv
import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from lstm_apps.bounds import Positive
from lstm_apps.data.files import read_text_file, write_text_atomically
from lstm_apps.errors import UserError
from lstm_apps.extras import require_extra

CALENDAR_FEATURES = 2  # sin and cos of the position in the year


@dataclass(frozen=True)
class TimeStep:
    """How times advance: ``kind`` is ``number``, ``duration`` (seconds) or ``months``."""

    kind: str
    size: float

    def describe(self) -> str:
        if self.kind == "months":
            return f"{int(self.size)} month(s)"
        if self.kind == "duration":
            days = self.size / 86400
            return f"{days:g} day(s)" if days >= 1 else f"{self.size:g} s"
        return f"{self.size:g}"

    def advance(self, time: datetime | float, steps: int) -> datetime | float:
        if self.kind == "number":
            assert not isinstance(time, datetime), "a number step advances numbers"
            return float(time) + steps * self.size
        assert isinstance(time, datetime)
        if self.kind == "duration":
            return time + timedelta(seconds=steps * self.size)
        months = time.year * 12 + time.month - 1 + steps * int(self.size)
        year, month = months // 12, months % 12 + 1
        last_day = calendar.monthrange(year, month)[1]
        return time.replace(
            year=year, month=month, day=last_day if _month_end(time) else min(time.day, last_day)
        )


@dataclass
class TimeSeries:
    """``values [T, V]`` at ``times`` (parsed), ``columns`` naming the V variables."""

    times: list[datetime | float]
    values: np.ndarray
    columns: list[str]
    step: TimeStep
    time_column: str = "time"

    def __len__(self) -> int:
        return len(self.times)

    @property
    def has_calendar(self) -> bool:
        return self.step.kind != "number"

    def future_times(self, count: int) -> list[datetime | float]:
        return [self.step.advance(self.times[-1], k) for k in range(1, count + 1)]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([self.time_column, *self.columns])
        for time, row in zip(self.times, self.values, strict=True):
            writer.writerow([format_time(time), *(f"{v:.10g}" for v in row)])
        return out.getvalue()


def calendar_features(times: list[datetime | float]) -> np.ndarray:
    """``[T, 2]``: sine and cosine of the time's position in the year (0 for plain numbers), so that
    the model knows the season of every input and of every step it forecasts."""
    features = np.zeros((len(times), CALENDAR_FEATURES), dtype=np.float32)
    for row, time in enumerate(times):
        if isinstance(time, datetime):
            start = datetime(time.year, 1, 1, tzinfo=time.tzinfo)
            angle = 2 * math.pi * (time - start).total_seconds() / (365.2425 * 86400)
            features[row] = (math.sin(angle), math.cos(angle))
    return features


def format_time(time: datetime | float) -> str:
    if isinstance(time, datetime):
        return (
            time.date().isoformat() if time == datetime(time.year, time.month, time.day) else time.isoformat()
        )
    return f"{time:g}"


def _month_end(time: datetime) -> bool:
    return time.day == calendar.monthrange(time.year, time.month)[1]


def _parse_time(text: str, where: str) -> datetime | float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{where}: time {text!r} is neither a number nor an ISO date") from None


def _step_between(first: datetime | float, second: datetime | float, where: str) -> TimeStep:
    if isinstance(first, datetime) != isinstance(second, datetime):
        raise UserError(f"{where}: times mix dates and numbers")
    if not isinstance(first, datetime) and not isinstance(second, datetime):
        size = float(second) - float(first)
        if size <= 0:
            raise UserError(f"{where}: times must increase ({first:g} then {second:g})")
        return TimeStep("number", size)
    assert isinstance(first, datetime) and isinstance(second, datetime)
    same_day = first.day == second.day or (_month_end(first) and _month_end(second))
    if (
        same_day
        and first.time() == second.time()
        and (first.year, first.month) != (second.year, second.month)
    ):
        months = (second.year - first.year) * 12 + second.month - first.month
        if months > 0 and (second - first).days >= 28:
            return TimeStep("months", months)
    seconds = (second - first).total_seconds()
    if seconds <= 0:
        raise UserError(f"{where}: times must increase ({format_time(first)} then {format_time(second)})")
    return TimeStep("duration", seconds)


def read_series_csv(
    path: str | Path, key: str, time_column: str = "time", value_columns: list[str] | None = None
) -> TimeSeries:
    """Read and check a series; ``value_columns=None`` takes every column but the time."""
    text = read_text_file(path, key)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise UserError(f"{path}:1: no header row")
    header = [h.strip() for h in header]
    if time_column not in header:
        raise UserError(f"{path}:1: no time column {time_column!r} (found: {', '.join(header)})")
    columns = list(value_columns) if value_columns else [h for h in header if h != time_column]
    missing = [c for c in columns if c not in header]
    if missing or not columns:
        raise UserError(
            f"{path}:1: no value column {missing[0] if missing else ''!r} (found: {', '.join(header)})"
        )
    positions = [header.index(c) for c in columns]
    time_position = header.index(time_column)

    def rows() -> Iterator[tuple[str, str, list[str]]]:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            where = f"{path}:{reader.line_num}"
            if len(cells) != len(header):
                raise UserError(f"{where}: {len(cells)} columns, the header has {len(header)}")
            yield where, cells[time_position], [cells[p] for p in positions]

    return series_from_rows(rows(), columns, f"{key}: {path}", time_column)


def series_from_rows(
    rows: Iterable[tuple[str, str, list[str]]], columns: list[str], source: str, time_column: str = "time"
) -> TimeSeries:
    """A series from ``(where, time, value cells)`` rows (a CSV file's, or a request's): each time
    parsed, the step between times regular, each value a finite number; ``where`` names a row in
    errors and ``source`` the whole."""
    times: list[datetime | float] = []
    values_by_row: list[list[float]] = []
    step: TimeStep | None = None
    for where, time_cell, cells in rows:
        time = _parse_time(time_cell, where)
        values = []
        for column, cell in zip(columns, cells, strict=True):
            cell = str(cell).strip()
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise UserError(
                    f"{where}: column {column!r} holds {cell!r}, not a number (fill or drop the gap)"
                )
            values.append(value)
        if times:
            between = _step_between(times[-1], time, where)
            if step is None:
                step = between
            elif between != step:
                raise UserError(
                    f"{where}: {format_time(time)} follows {format_time(times[-1])}, breaking the regular "
                    f"step of {step.describe()} (a gap, a repeated or a missing time?)"
                )
        times.append(time)
        values_by_row.append(values)
    if len(times) < 3 or step is None:
        raise UserError(f"{source} needs at least 3 rows, found {len(times)}")
    return TimeSeries(times, np.asarray(values_by_row, dtype=np.float64), columns, step, time_column)


class SeriesFile:
    """The user's own CSV (``season_length`` is used by the seasonal-naive/ETS baselines)."""

    def __init__(
        self,
        path: str,
        season_length: Positive,
        time_column: str = "time",
        value_columns: list[str] | None = None,
        key: str = "data.series",
    ) -> None:
        self.path, self.time_column = path, time_column
        self.value_columns = list(value_columns) if value_columns else None
        self.season_length = season_length
        self.key = key

    def load(self) -> TimeSeries:
        return read_series_csv(self.path, f"{self.key}.path", self.time_column, self.value_columns)


class StatsmodelsSeries:
    """A series that ships inside statsmodels, written once to CSV and read back like user data.

    ``co2``: weekly atmospheric CO2 at Mauna Loa, 1958-2001 (ppm); its 59 missing weeks are filled
    by linear interpolation in time before writing. ``sunspots``: yearly sunspot activity,
    1700-2008.
    """

    SOURCES = {"co2": ("date", ["co2"]), "sunspots": ("year", ["sunactivity"])}

    def __init__(self, name: str, directory: str, season_length: int) -> None:
        if name not in self.SOURCES:
            raise UserError(f"data.series.name: one of {', '.join(self.SOURCES)}, got {name!r}")
        self.name, self.directory, self.season_length = name, Path(directory), season_length

    @property
    def file(self) -> Path:
        return series_file(self.name, self.directory)

    def prepare(self) -> None:
        write_statsmodels_series(self.name, self.directory)

    def load(self) -> TimeSeries:
        self.prepare()
        time_column, columns = self.SOURCES[self.name]
        return read_series_csv(self.file, f"data.series ({self.name})", time_column, columns)


def series_file(name: str, directory: str | Path) -> Path:
    """Where the statsmodels series ``name`` is written as CSV."""
    return Path(directory) / f"{name}.csv"


def write_statsmodels_series(name: str, directory: str | Path) -> Path:
    """Write the statsmodels series ``name`` (``co2`` or ``sunspots``) to CSV once; return the file."""
    file = series_file(name, directory)
    if file.exists():
        return file
    require_extra("forecast", f"data.series={name} (a series shipped with statsmodels)")
    if name == "co2":
        from statsmodels.datasets import co2

        frame = co2.load_pandas().data.interpolate(method="time")
        times: list[datetime | float] = [t.to_pydatetime() for t in frame.index]
        series = TimeSeries(
            times, frame[["co2"]].to_numpy(), ["co2"], TimeStep("duration", 7 * 86400), "date"
        )
    else:
        from statsmodels.datasets import sunspots

        frame = sunspots.load_pandas().data
        series = TimeSeries(
            [float(y) for y in frame["YEAR"]],
            frame[["SUNACTIVITY"]].to_numpy(),
            ["sunactivity"],
            TimeStep("number", 1.0),
            "year",
        )
    write_text_atomically(file, series.to_csv())
    return file
