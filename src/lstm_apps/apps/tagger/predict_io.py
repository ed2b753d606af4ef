"""Reading what ``lstm-apps predict`` should tag and showing the result to a person."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass
class Entity:
    """An entity of running text: its type, its words and their character offsets (``end`` excluded)."""

    type: str
    text: str
    start: int
    end: int


@dataclass
class TaggedText:
    """Running text split into words, with one tag per word and the entities the tags spell."""

    words: list[tuple[str, int, int]]  # (word, start, end) in the text
    tags: list[str]
    entities: list[Entity]


def tag_texts(texts: list[str], tagger: Tagger, scheme: str, field: str = "text") -> list[TaggedText]:
    """Split each text into words, tag them all in one call of ``tagger`` and read the entities
    back as character offsets into the text."""
    split = [split_words(text) for text in texts]
    for words in split:
        if not words:
            raise UserError(f"{field}: nothing to tag")
    found = tagger([[word for word, _, _ in words] for words in split])
    tagged = []
    for text, words, tags in zip(texts, split, found, strict=True):
        entities = []
        for kind, start, end in spans(tags, scheme):
            first, last = words[start][1], words[end - 1][2]
            entities.append(Entity(kind, text[first:last], first, last))
        tagged.append(TaggedText(words, tags, entities))
    return tagged


def format_tagged_text(text: str, tagger: Tagger, scheme: str) -> str:
    """``token/TAG …`` on the first line, then one ``TYPE<TAB>span text<TAB>start-end`` line per entity."""
    tagged = tag_texts([text], tagger, scheme)[0]
    lines = [" ".join(f"{word}/{tag}" for (word, _, _), tag in zip(tagged.words, tagged.tags, strict=True))]
    lines += [f"{e.type}\t{e.text}\t{e.start}-{e.end}" for e in tagged.entities]
    return "\n".join(lines)
