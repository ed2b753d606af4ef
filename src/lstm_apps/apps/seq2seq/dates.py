"""The embedded seq2seq task: dates written the ways people write them -> ISO 8601.

"saturday, march 3rd 2021", "3 Mar 21", "03/03/2021", "the 3rd of March, 2021" … -> "2021-03-03".
Slash forms are month-first (US), dotted forms day-first (European), so every input has exactly
one reading. Dates of the val and test splits never occur in train (split by calendar day), so
the scores measure generalisation, not memory.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
FIRST_DAY = dt.date(1950, 1, 1)
LAST_DAY = dt.date(2049, 12, 31)


def ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _month(d: dt.date, short: bool = False) -> str:
    name = MONTHS[d.month - 1]
    return name[:3] if short else name


def _weekday(d: dt.date, short: bool = False) -> str:
    name = WEEKDAYS[d.weekday()]
    return name[:3] if short else name


FORMATS: list[Callable[[dt.date], str]] = [
    lambda d: f"{_weekday(d)}, {_month(d)} {ordinal(d.day)} {d.year}",
    lambda d: f"{d.day} {_month(d, True)} {d.year % 100:02d}",
    lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",
    lambda d: f"the {ordinal(d.day)} of {_month(d)}, {d.year}",
    lambda d: f"{_month(d)} {d.day}, {d.year}",
    lambda d: f"{_month(d, True)} {d.day} {d.year}",
    lambda d: f"{d.day} {_month(d)} {d.year}",
    lambda d: f"{d.month}/{d.day}/{d.year % 100:02d}",
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    lambda d: f"{_weekday(d, True)} {d.day} {_month(d, True)} {d.year}",
    lambda d: f"{_month(d)} {ordinal(d.day)}, {d.year}",
    lambda d: f"{ordinal(d.day)} {_month(d)} {d.year}",
    lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    lambda d: f"{_weekday(d)} the {ordinal(d.day)} of {_month(d)} {d.year}",
]
CASES: list[Callable[[str], str]] = [str.lower, str.title, str.upper]


def humanise(day: dt.date, rng: random.Random) -> str:
    """One human way of writing ``day``, with random wording and letter case."""
    text = rng.choice(FORMATS)(day)
    return rng.choice(CASES)(text) if rng.random() < 0.5 else text


def generate_splits(
    train_size: int, val_size: int, test_size: int, seed: int = 0
) -> dict[str, list[tuple[str, str]]]:
    """Deterministic (source, target) pairs; val/test days are held out of train."""
    rng = random.Random(seed)
    days = [FIRST_DAY + dt.timedelta(n) for n in range((LAST_DAY - FIRST_DAY).days + 1)]
    rng.shuffle(days)
    held_out = {"test": days[:test_size], "val": days[test_size : test_size + val_size]}
    train_days = days[test_size + val_size :]
    splits = {
        "train": [rng.choice(train_days) for _ in range(train_size)],
        "val": held_out["val"],
        "test": held_out["test"],
    }
    return {name: [(humanise(d, rng), d.isoformat()) for d in chosen] for name, chosen in splits.items()}
