"""Reading what ``lstm-apps predict`` should tag and showing the result to a person."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lstm_apps.apps.tagger.conll import TaggedSentence, parse_conll
from lstm_apps.apps.tagger.tag_schemes import spans
from lstm_apps.apps.tagger.word_split import split_words
from lstm_apps.data.files import read_text_file
from lstm_apps.errors import UserError

Tagger = Callable[[list[list[str]]], list[list[str]]]


def looks_like_conll(text: str) -> bool:
    """A ``-DOCSTART-`` line, or at least three lines that all have the same number of columns
    (running text almost never does)."""
    rows = [line.split() for line in text.splitlines() if line.strip()]
    if any(row[0] == "-DOCSTART-" for row in rows):
        return True
    return len(rows) >= 3 and len({len(row) for row in rows}) == 1


def read_prediction_input(path: Path, input_format: str = "auto") -> list[TaggedSentence]:
    """CoNLL (tokens in the first column; all columns kept in ``rows``) or plain text, one
    sentence per non-blank line, split into tokens."""
    text = read_text_file(path, "input_file")
    if input_format == "auto":
        input_format = "conll" if looks_like_conll(text) else "text"
    if input_format == "conll":
        return parse_conll(text, str(path), tag_column=None)
    if input_format == "text":
        sentences = []
        for line in text.splitlines():
            tokens = [word for word, _, _ in split_words(line)]
            if tokens:
                sentences.append(TaggedSentence(tokens, rows=[[t] for t in tokens]))
        return sentences
    raise UserError(f"input_format: must be auto, conll or text, got {input_format!r}")


def format_tagged_text(text: str, tagger: Tagger, scheme: str) -> str:
    """``token/TAG …`` on the first line, then one ``TYPE<TAB>span text<TAB>start-end`` line per entity."""
    words = split_words(text)
    if not words:
        raise UserError("text: nothing to tag")
    tags = tagger([[word for word, _, _ in words]])[0]
    lines = [" ".join(f"{word}/{tag}" for (word, _, _), tag in zip(words, tags, strict=True))]
    for kind, start, end in spans(tags, scheme):
        first, last = words[start][1], words[end - 1][2]
        lines.append(f"{kind}\t{text[first:last]}\t{first}-{last}")
    return "\n".join(lines)
