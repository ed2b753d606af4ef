"""Text as it is spoken: lowercase words of ``a``-``z`` and the apostrophe, numbers spelled out,
symbols read or dropped, one space between words. What a speech recogniser's transcripts are and a
synthesiser is given (so that the transcript is exactly what was said), for any English text."""

from __future__ import annotations

import re

ONES = "zero one two three four five six seven eight nine".split()
TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
ORDINALS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
    "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
).split()
SCALES = ((1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand"))
# Symbols read as words; every other character that is not a letter, digit or apostrophe is a pause.
SYMBOLS = {"%": " percent ", "&": " and ", "+": " plus ", "=": " equals ", "@": " at ", "#": " number "}
ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz' ")


def number_words(n: int) -> str:
    """``0 <= n < 10**12`` in words, British style: ``four hundred and twelve``,
    ``two thousand and four``, ``three million five hundred thousand``."""
    if n < 0:
        raise ValueError(f"number_words takes n >= 0, got {n}")
    if n < 10:
        return ONES[n]
    if n < 20:
        return TEENS[n - 10]
    if n < 100:
        tens, ones = divmod(n, 10)
        return TENS[tens] + (f" {ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{ONES[hundreds]} hundred" + (f" and {number_words(rest)}" if rest else "")
    for scale, name in SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            head = f"{number_words(high)} {name}"
            if not rest:
                return head
            return head + (f" and {number_words(rest)}" if rest < 100 else f" {number_words(rest)}")
    raise AssertionError("unreachable")


def ordinal_words(n: int) -> str:
    """``1 <= n <= 99`` as an ordinal: ``twenty third``, ``fortieth``."""
    if n <= 20:
        return ORDINALS[n - 1]
    tens, ones = divmod(n, 10)
    return f"{TENS[tens]} {ORDINALS[ones - 1]}" if ones else TENS[tens][:-1] + "ieth"


_ORDINAL = re.compile(r"\b(\d{1,2})(st|nd|rd|th)\b")
_DECIMAL = re.compile(r"\b(\d+)\.(\d+)\b")
_GROUPED = re.compile(r"\b(\d{1,3}(?:,\d{3})+)\b")
_NUMBER = re.compile(r"\d+")


def _digits(text: str) -> str:
    return " ".join(ONES[int(d)] for d in text)


def _number(match: re.Match[str]) -> str:
    digits = match.group()
    if len(digits) > 1 and digits.startswith("0") or len(digits) > 12:
        return f" {_digits(digits)} "  # codes and long strings of digits: one digit at a time
    return f" {number_words(int(digits))} "


def spoken_form(text: str) -> str:
    """``text`` as spoken: ``"It's 3.5% of 1,200 on the 2nd!"`` ->
    ``"it's three point five percent of one thousand two hundred on the second"``."""
    text = text.lower()
    text = _ORDINAL.sub(
        lambda m: f" {ordinal_words(int(m.group(1)))} " if int(m.group(1)) else m.group(), text
    )
    text = _DECIMAL.sub(lambda m: f"{m.group(1)} point {_digits(m.group(2))}", text)
    text = _GROUPED.sub(lambda m: m.group().replace(",", ""), text)
    text = _NUMBER.sub(_number, text)
    for symbol, words in SYMBOLS.items():
        text = text.replace(symbol, words)
    kept = "".join(c if c in ALPHABET else " " for c in text)
    # An apostrophe belongs to a word (it's, o'clock), not around one ('quoted').
    stripped = (word.strip("'") for word in kept.split())
    return " ".join(word for word in stripped if word)
