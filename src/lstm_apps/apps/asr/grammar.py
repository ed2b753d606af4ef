"""Texts of the embedded spoken corpus: numbers, dates, times, commands and short sentences from a
generated grammar, written as they are spoken (lowercase words, no digits), so that the transcript
is exactly what the synthesiser says. A vocabulary of several hundred words in utterances of
several words: the model must spell words, not classify a few phrases."""

from __future__ import annotations

import random
from collections.abc import Callable

from lstm_apps.text.spoken_form import ONES, number_words, ordinal_words

__all__ = ["number_words", "ordinal_words", "utterance_text", "vocabulary", "year_words"]

MONTHS = "january february march april may june july august september october november december".split()
DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
NAMES = (
    "anna peter maria thomas elena ivan laura omar carlos nadia lars greta hugo clara diego rosa "
    "felix olga pablo sara victor emma james lucy daniel sophie martin julia oscar alice henry"
).split()
PLACES = (
    "kitchen bedroom garden office garage hallway bathroom basement attic balcony studio library "
    "station airport hospital school market museum harbour bakery"
).split()
CITIES = (
    "london paris berlin madrid rome vienna dublin oslo lisbon prague boston denver chicago toronto".split()
)
DEVICES = "lights heating radio television fan oven alarm music camera speaker printer kettle".split()
COLOURS = "red blue green yellow orange purple white black brown grey pink silver".split()
THINGS = (
    "book letter window door table chair bottle basket ticket jacket umbrella candle mirror pencil "
    "blanket bicycle guitar picture garden river mountain island forest village bridge castle"
).split()
ADJECTIVES = (
    "small large quiet bright heavy narrow ancient modern gentle careful happy tired clever busy "
    "empty famous strange lovely cold warm"
).split()
PEOPLE = "teacher doctor farmer pilot baker driver painter student sailor writer neighbour singer".split()
VERBS_PAST = (
    "found lost painted carried opened closed bought sold cleaned moved watched visited repaired "
    "borrowed noticed described"
).split()


def year_words(year: int) -> str:
    """``1987`` -> ``nineteen eighty seven``; ``2004`` -> ``two thousand and four``."""
    if 2000 <= year < 2010:
        return number_words(year)
    high, low = divmod(year, 100)
    return f"{number_words(high)} " + (f"oh {ONES[low]}" if low < 10 else number_words(low))


def _pick(rng: random.Random, words: list[str]) -> str:
    return words[rng.randrange(len(words))]


def _number(rng: random.Random) -> str:
    n = rng.choice([rng.randrange(10, 100), rng.randrange(100, 1000), rng.randrange(1000, 10_000)])
    return rng.choice(["the number ", "", "exactly ", "about "]) + number_words(n)


def _digits(rng: random.Random) -> str:
    return " ".join(ONES[rng.randrange(10)] for _ in range(rng.randrange(3, 8)))


def _date(rng: random.Random) -> str:
    day, month = ordinal_words(rng.randrange(1, 29)), _pick(rng, MONTHS)
    year = year_words(rng.randrange(1950, 2031))
    return rng.choice(
        [f"the {day} of {month} {year}", f"{_pick(rng, DAYS)} the {day} of {month}", f"{month} the {day}"]
    )


def _time(rng: random.Random) -> str:
    hour = number_words(rng.randrange(1, 13))
    minute = rng.randrange(0, 60, 5)
    clock = {0: f"{hour} o'clock", 15: f"quarter past {hour}", 30: f"half past {hour}"}.get(
        minute, f"{hour} {number_words(minute)}" if minute >= 10 else f"{hour} oh {ONES[minute]}"
    )
    return clock + rng.choice(["", " in the morning", " in the evening", " tonight", " tomorrow"])


def _command(rng: random.Random) -> str:
    choices: list[Callable[[], str]] = [
        lambda: f"turn {rng.choice(['on', 'off'])} the {_pick(rng, PLACES)} {_pick(rng, DEVICES)}",
        lambda: f"set an alarm for {_time(rng)}",
        lambda: f"call {_pick(rng, NAMES)} at {_time(rng)}",
        lambda: f"remind me to call {_pick(rng, NAMES)} on {_pick(rng, DAYS)}",
        lambda: f"book a table for {number_words(rng.randrange(2, 13))} on {_date(rng)}",
        lambda: f"send a message to {_pick(rng, NAMES)} saying i will be late",
        lambda: f"what is the weather like in {_pick(rng, CITIES)} {rng.choice(['today', 'tomorrow'])}",
        lambda: f"play some {_pick(rng, ['jazz', 'rock', 'classical', 'folk', 'quiet'])} music",
        lambda: f"set the {_pick(rng, DEVICES)} to {number_words(rng.randrange(1, 100))} percent",
        lambda: f"find a train to {_pick(rng, CITIES)} leaving after {_time(rng)}",
        lambda: f"open the {_pick(rng, COLOURS)} {_pick(rng, THINGS)} in the {_pick(rng, PLACES)}",
    ]
    return rng.choice(choices)()


def _sentence(rng: random.Random) -> str:
    choices: list[Callable[[], str]] = [
        lambda: (
            f"the {_pick(rng, ADJECTIVES)} {_pick(rng, PEOPLE)} {_pick(rng, VERBS_PAST)} "
            f"a {_pick(rng, COLOURS)} {_pick(rng, THINGS)}"
        ),
        lambda: (
            f"{_pick(rng, NAMES)} {_pick(rng, VERBS_PAST)} the {_pick(rng, THINGS)} near the {_pick(rng, PLACES)}"
        ),
        lambda: f"my {_pick(rng, PEOPLE)} lives in {_pick(rng, CITIES)} with {_pick(rng, NAMES)}",
        lambda: f"we met the {_pick(rng, PEOPLE)} at the {_pick(rng, PLACES)} on {_pick(rng, DAYS)}",
        lambda: f"the {_pick(rng, THINGS)} is {_pick(rng, ADJECTIVES)} and {_pick(rng, ADJECTIVES)}",
        lambda: f"please bring the {_pick(rng, ADJECTIVES)} {_pick(rng, THINGS)} to {_pick(rng, NAMES)}",
    ]
    return rng.choice(choices)()


# (weight, generator) of each kind of utterance
KINDS: list[tuple[float, Callable[[random.Random], str]]] = [
    (0.12, _number),
    (0.08, _digits),
    (0.12, _date),
    (0.08, lambda rng: f"it is {_time(rng)}"),
    (0.32, _command),
    (0.28, _sentence),
]


def utterance_text(rng: random.Random) -> str:
    """One utterance of the grammar, drawn by ``rng``."""
    weights = [weight for weight, _ in KINDS]
    generate = rng.choices([kind for _, kind in KINDS], weights)[0]
    return " ".join(generate(rng).split())


def vocabulary() -> set[str]:
    """Every word the grammar can say (for the docs and the tests)."""
    words: set[str] = set()
    rng = random.Random(0)
    for _ in range(20_000):
        words.update(utterance_text(rng).split())
    return words
