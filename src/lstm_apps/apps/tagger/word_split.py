"""Split raw text into CoNLL-style tokens with character offsets (for tagging plain text).

Punctuation becomes its own token, as in CoNLL corpora, except where the period belongs to the
word: titles and common abbreviations ("Mr.", "Inc.") and dotted acronyms ("U.S.").
"""

from __future__ import annotations

import re

_ABBREVIATIONS = r"(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|Inc|Corp|Co|Ltd|Gen|Gov|Sen|Rep|vs|etc)\."
_TOKEN = re.compile(rf"{_ABBREVIATIONS}|(?:[A-Za-z]\.){{2,}}|\w+(?:[-'’.]\w+)*|[^\w\s]")


def split_words(text: str) -> list[tuple[str, int, int]]:
    """``[(token, start, end), ...]`` with ``text[start:end] == token``."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
