"""What a config value may be: a type plus a range or a set of choices, each able to say so in words.

Each kind answers three questions: does it accept a value, how to describe what is allowed (the
text in parentheses of an error line), and which values lie just outside (so that tests can feed
every declared key a bad value without listing them by hand).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def _fmt(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else repr(bound)


class Kind:
    """One allowed shape of value; ``problem`` names what is wrong, ``None`` when it is fine."""

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def right_type(self, value: Any) -> bool:
        """Whether ``value`` is of this kind's type (then a refusal is about its range)."""
        raise NotImplementedError

    def problem(self, value: Any) -> str | None:
        if self.accepts(value):
            return None
        if self.right_type(value):
            return f"is out of range ({self.describe()})"
        return f"is not {self.type_name()} ({self.describe()})"

    def type_name(self) -> str:
        return "allowed"

    def outside(self) -> list[Any]:
        """Values just outside what is allowed, nearest first."""
        raise NotImplementedError


@dataclass(frozen=True)
class Range(Kind):
    """An integer or a real number, optionally bounded; ``*_open`` excludes the bound itself."""

    integer: bool
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def right_type(self, value: Any) -> bool:
        return _is_int(value) if self.integer else _is_number(value)

    def accepts(self, value: Any) -> bool:
        if not self.right_type(value):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return not (self.high is not None and (value > self.high or (self.high_open and value == self.high)))

    def type_name(self) -> str:
        return "an integer" if self.integer else "a number"

    def describe(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_fmt(self.low)}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {_fmt(self.high)}")
        return " ".join([self.type_name(), " and ".join(parts)]).strip()

    def outside(self) -> list[Any]:
        step = 1 if self.integer else 0.5
        values: list[Any] = []
        if self.low is not None:
            values.append(self.low if self.low_open else self.low - step)
        if self.high is not None:
            values.append(self.high if self.high_open else self.high + step)
        if self.integer:
            values = [int(v) for v in values] + [1.5]
        return [*values, "abc"]


@dataclass(frozen=True)
class Choice(Kind):
    """One of a fixed set of words (compared as text, so ``precision=32`` matches ``"32"``)."""

    options: tuple[str, ...]

    def right_type(self, value: Any) -> bool:
        return isinstance(value, str | int) and not isinstance(value, bool)

    def accepts(self, value: Any) -> bool:
        return self.right_type(value) and str(value) in self.options

    def problem(self, value: Any) -> str | None:
        return None if self.accepts(value) else f"is not one of {', '.join(self.options)}"

    def describe(self) -> str:
        return self.options[0] if len(self.options) == 1 else f"one of {', '.join(self.options)}"

    def outside(self) -> list[Any]:
        return [f"{self.options[0]}x"]


@dataclass(frozen=True)
class Flag(Kind):
    """``true`` or ``false``."""

    def right_type(self, value: Any) -> bool:
        return isinstance(value, bool)

    accepts = right_type

    def describe(self) -> str:
        return "true or false"

    def type_name(self) -> str:
        return "true or false"

    def problem(self, value: Any) -> str | None:
        return None if self.accepts(value) else "is not true or false"

    def outside(self) -> list[Any]:
        return ["maybe"]


@dataclass(frozen=True)
class Null(Kind):
    """``null``: the key's documented 'not set' value."""

    meaning: str = ""

    def right_type(self, value: Any) -> bool:
        return value is None

    accepts = right_type

    def describe(self) -> str:
        return f"null ({self.meaning})" if self.meaning else "null"

    def outside(self) -> list[Any]:
        return []


@dataclass(frozen=True)
class Text(Kind):
    """A string matching ``pattern`` (a regular expression, matched whole); ``shown`` says it in words."""

    pattern: str
    shown: str

    def right_type(self, value: Any) -> bool:
        return isinstance(value, str)

    def accepts(self, value: Any) -> bool:
        return self.right_type(value) and re.fullmatch(self.pattern, value) is not None

    def describe(self) -> str:
        return self.shown

    def problem(self, value: Any) -> str | None:
        return None if self.accepts(value) else f"is not allowed ({self.shown})"

    def outside(self) -> list[Any]:
        return ["-"]


@dataclass(frozen=True)
class ListOf(Kind):
    """A non-empty list whose items are each of kind ``item``."""

    item: Kind

    def right_type(self, value: Any) -> bool:
        return isinstance(value, Sequence) and not isinstance(value, str)

    def accepts(self, value: Any) -> bool:
        return self.right_type(value) and len(value) > 0 and all(self.item.accepts(v) for v in value)

    def describe(self) -> str:
        return f"a list of {self.item.describe().replace('a number', 'numbers').replace('an integer', 'integers')}"

    def outside(self) -> list[Any]:
        return [[v] for v in self.item.outside() if isinstance(v, int | float)][:1]


@dataclass(frozen=True)
class AnyOf(Kind):
    """Several shapes, e.g. ``null`` or an integer >= 1; the error names all of them."""

    kinds: tuple[Kind, ...]

    def right_type(self, value: Any) -> bool:
        return any(k.right_type(value) for k in self.kinds)

    def accepts(self, value: Any) -> bool:
        return any(k.accepts(value) for k in self.kinds)

    def describe(self) -> str:
        texts = [k.describe() for k in self.kinds]
        return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + ", or " + texts[-1]

    def problem(self, value: Any) -> str | None:
        if self.accepts(value):
            return None
        measured = [k for k in self.kinds if isinstance(k, Range | ListOf) and k.right_type(value)]
        return f"is {'out of range' if measured else 'not allowed'} ({self.describe()})"

    def outside(self) -> list[Any]:
        return [v for k in self.kinds for v in k.outside() if not self.accepts(v)]


@dataclass(frozen=True)
class Key:
    """The declaration of one key: what it may hold and, briefly, what it does."""

    kind: Kind
    doc: str

    def problem(self, value: Any) -> str | None:
        return self.kind.problem(value)
