"""CoNLL column files: one token per line, whitespace-separated columns, a blank line between
sentences, ``-DOCSTART-`` lines skipped (CoNLL-2000/2002/2003, most NER/POS/chunking corpora)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lstm_apps.apps.tagger.tag_schemes import SCHEMES, FileScheme, convert, invalid_tag
from lstm_apps.bounds import Count
from lstm_apps.data.prepared.store import files_identity
from lstm_apps.errors import UserError
from lstm_apps.text.chunked import read_lines


@dataclass
class TaggedSentence:
    """Tokens with their tags (empty when the file carries none) and every original column."""

    tokens: list[str]
    tags: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _column(columns: list[str], index: int, what: str, where: str) -> str:
    try:
        return columns[index]
    except IndexError:
        raise UserError(f"{where}: no {what} column {index} (line has {len(columns)} columns)") from None


def iter_conll(
    lines: Iterable[str], source: str, word_column: int = 0, tag_column: int | None = -1, scheme: str = "iob2"
) -> Iterator[TaggedSentence]:
    """Sentences of CoNLL ``lines``, one at a time; every line must have as many columns as the
    file's first token line.

    ``tag_column=None`` reads tokens only (input to tag). ``scheme`` is the scheme the tags are
    written in; they are checked against it and returned as ``iob2`` (unchanged for ``none``).
    """
    if scheme not in SCHEMES:
        raise UserError(f"scheme: must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    rows: list[list[str]] = []
    lines_of_rows: list[int] = []
    width = 0

    def sentence() -> TaggedSentence:
        where = [f"{source}:{n}" for n in lines_of_rows]
        tokens = [_column(r, word_column, "word", w) for r, w in zip(rows, where, strict=True)]
        tags: list[str] = []
        if tag_column is not None:
            tags = [_column(r, tag_column, "tag", w) for r, w in zip(rows, where, strict=True)]
            for tag, at in zip(tags, where, strict=True):
                problem = invalid_tag(tag, scheme)
                if problem:
                    raise UserError(f"{at}: {problem}")
            tags = convert(tags, scheme, "iob2")
        return TaggedSentence(tokens, tags, list(rows))

    for number, line in enumerate(lines, 1):
        columns = line.split()
        if not columns or columns[0] == "-DOCSTART-":
            if rows:
                yield sentence()
                rows.clear()
                lines_of_rows.clear()
            continue
        if not width:
            width = len(columns)
        elif len(columns) != width:
            raise UserError(
                f"{source}:{number}: expected {width} columns like the file's first token line, found {len(columns)}"
            )
        rows.append(columns)
        lines_of_rows.append(number)
    if rows:
        yield sentence()


def parse_conll(
    text: str, source: str, word_column: int = 0, tag_column: int | None = -1, scheme: str = "iob2"
) -> list[TaggedSentence]:
    """Every sentence of CoNLL ``text`` (see ``iter_conll``)."""
    return list(iter_conll(text.splitlines(), source, word_column, tag_column, scheme))


def stream_conll(
    path: str | Path, key: str, word_column: int = 0, tag_column: int | None = -1, scheme: str = "iob2"
) -> Iterator[TaggedSentence]:
    """A CoNLL file's sentences read one line at a time; errors name ``path:line`` or ``key``."""
    found = 0
    for sentence in iter_conll(read_lines(path, key), str(path), word_column, tag_column, scheme):
        found += 1
        yield sentence
    if not found:
        raise UserError(f"{key}: no sentences in {path}")


def read_conll(
    path: str | Path, key: str, word_column: int = 0, tag_column: int | None = -1, scheme: str = "iob2"
) -> list[TaggedSentence]:
    """Every sentence of a CoNLL file (see ``stream_conll``)."""
    return list(stream_conll(path, key, word_column, tag_column, scheme))


def format_conll(sentences: Iterable[list[list[str]]]) -> str:
    """Rows of columns -> CoNLL text (space-separated columns, blank line after each sentence)."""
    return "".join("".join(" ".join(row) + "\n" for row in rows) + "\n" for rows in sentences)


class ConllFiles:
    """User data in CoNLL column format. ``tag_column``/``word_column`` index the whitespace
    columns (negative counts from the end); ``scheme`` is the scheme the files are written in."""

    def __init__(
        self,
        train: str,
        val: str,
        test: str | None = None,
        word_column: Count = 0,
        tag_column: int = -1,
        scheme: FileScheme = "iob2",
        key: str = "data.corpus",
    ) -> None:
        self.paths = {"train": train, "val": val, "test": test or val}
        self.word_column, self.tag_column, self.scheme, self.key = word_column, tag_column, scheme, key

    def identity(self) -> dict[str, Any]:
        """The files by path, size and modification time, and which columns are read how."""
        return files_identity(
            "conll_files", self.paths, word=self.word_column, tag=self.tag_column, scheme=self.scheme
        )

    def records(self, split: str) -> Iterator[TaggedSentence]:
        """The sentences of ``split``, read one line at a time."""
        path = self.paths[split]
        return stream_conll(path, f"{self.key}.{split}", self.word_column, self.tag_column, self.scheme)

    def load(self) -> dict[str, list[TaggedSentence]]:
        return {split: list(self.records(split)) for split in self.paths}
