"""CoNLL column files: one token per line, whitespace-separated columns, a blank line between
sentences, ``-DOCSTART-`` lines skipped (CoNLL-2000/2002/2003, most NER/POS/chunking corpora)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lstm_apps.data.corpus import read_text_file
from lstm_apps.data.prepared import files_identity
from lstm_apps.errors import UserError
from lstm_apps.text.tag_schemes import SCHEMES, convert, invalid_tag


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


def parse_conll(
    text: str, source: str, word_column: int = 0, tag_column: int | None = -1, scheme: str = "iob2"
) -> list[TaggedSentence]:
    """Parse CoNLL ``text``; every line must have as many columns as the file's first token line.

    ``tag_column=None`` reads tokens only (input to tag). ``scheme`` is the scheme the tags are
    written in; they are checked against it and returned as ``iob2`` (unchanged for ``none``).
    """
    if scheme not in SCHEMES:
        raise UserError(f"scheme: must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    sentences: list[TaggedSentence] = []
    rows: list[list[str]] = []
    lines: list[int] = []
    width = 0

    def close() -> None:
        if rows:
            tokens = [
                _column(r, word_column, "word", f"{source}:{n}") for r, n in zip(rows, lines, strict=True)
            ]
            tags: list[str] = []
            if tag_column is not None:
                tags = [
                    _column(r, tag_column, "tag", f"{source}:{n}") for r, n in zip(rows, lines, strict=True)
                ]
                for tag, number in zip(tags, lines, strict=True):
                    problem = invalid_tag(tag, scheme)
                    if problem:
                        raise UserError(f"{source}:{number}: {problem}")
                tags = convert(tags, scheme, "iob2")
            sentences.append(TaggedSentence(tokens, tags, list(rows)))
        rows.clear()
        lines.clear()

    for number, line in enumerate(text.splitlines(), 1):
        columns = line.split()
        if not columns:
            close()
            continue
        if columns[0] == "-DOCSTART-":
            close()
            continue
        if not width:
            width = len(columns)
        elif len(columns) != width:
            raise UserError(
                f"{source}:{number}: expected {width} columns like the file's first token line, found {len(columns)}"
            )
        rows.append(columns)
        lines.append(number)
    close()
    return sentences


def read_conll(
    path: str | Path, key: str, word_column: int = 0, tag_column: int | None = -1, scheme: str = "iob2"
) -> list[TaggedSentence]:
    """Read and parse a CoNLL file (see ``parse_conll``); errors name ``path:line`` or ``key``."""
    sentences = parse_conll(read_text_file(path, key), str(path), word_column, tag_column, scheme)
    if not sentences:
        raise UserError(f"{key}: no sentences in {path}")
    return sentences


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
        word_column: int = 0,
        tag_column: int = -1,
        scheme: str = "iob2",
        key: str = "data.corpus",
    ) -> None:
        self.paths = {"train": train, "val": val, "test": test or val}
        self.word_column, self.tag_column, self.scheme, self.key = word_column, tag_column, scheme, key

    def identity(self) -> dict[str, Any]:
        """The files by path, size and modification time, and which columns are read how."""
        return files_identity(
            "conll_files", self.paths, word=self.word_column, tag=self.tag_column, scheme=self.scheme
        )

    def load(self) -> dict[str, list[TaggedSentence]]:
        return {
            split: read_conll(path, f"{self.key}.{split}", self.word_column, self.tag_column, self.scheme)
            for split, path in self.paths.items()
        }
