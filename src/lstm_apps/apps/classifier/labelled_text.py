"""Labelled texts from CSV, TSV or JSONL files: the classifier's input format.

CSV/TSV files start with a header row naming the columns; JSONL files hold one object per line.
The text and label columns are named in the config. A label cell may hold several labels joined
by ``label_separator`` (or, in JSONL, a list) for multi-label data. Every way a file can be wrong
is reported as one line naming the file, line and column.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lstm_apps.data.prepared.store import files_identity
from lstm_apps.errors import UserError
from lstm_apps.text.chunked import read_lines

FORMATS = ("csv", "tsv", "jsonl")


@dataclass
class LabelledText:
    """One example; ``where`` (``file:line``) lets later checks name it."""

    text: str
    labels: list[str] = field(default_factory=list)
    where: str = ""


def detect_format(path: str | Path, fmt: str = "auto") -> str:
    if fmt != "auto":
        if fmt not in FORMATS:
            raise UserError(f"format must be auto, {', '.join(FORMATS)}; got {fmt!r}")
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix in ("json", "jsonl", "ndjson"):
        return "jsonl"
    if suffix in ("tsv", "tab"):
        return "tsv"
    if suffix == "csv":
        return "csv"
    raise UserError(f"{path}: cannot tell the format from the suffix; set format=csv|tsv|jsonl")


def stream_labelled_texts(
    path: str | Path,
    key: str,
    text_column: str = "text",
    label_column: str | None = "label",
    fmt: str = "auto",
    label_separator: str | None = None,
) -> Iterator[LabelledText]:
    """The rows of a file one at a time. ``label_column=None`` reads texts only (prediction input)."""
    kind = detect_format(path, fmt)
    lines = read_lines(path, key, keepends=True)
    rows = _jsonl_rows(lines, path) if kind == "jsonl" else _table_rows(lines, path, kind)
    found = 0
    for line, row in rows:
        where = f"{path}:{line}"
        value = _cell(row, text_column, where)
        if not isinstance(value, str) or not value.strip():
            raise UserError(f"{where}: column {text_column!r} is empty or not text")
        labels: list[str] = []
        if label_column is not None:
            labels = _labels(_cell(row, label_column, where), label_separator, where, label_column)
        found += 1
        yield LabelledText(value, labels, where)
    if not found:
        raise UserError(f"{key}: {path} holds no examples")


def read_labelled_texts(
    path: str | Path,
    key: str,
    text_column: str = "text",
    label_column: str | None = "label",
    fmt: str = "auto",
    label_separator: str | None = None,
) -> list[LabelledText]:
    """All rows of a file (see ``stream_labelled_texts``)."""
    return list(stream_labelled_texts(path, key, text_column, label_column, fmt, label_separator))


def _table_rows(lines: Iterator[str], path: str | Path, kind: str) -> Iterator[tuple[int, dict[str, object]]]:
    delimiter = "\t" if kind == "tsv" else ","
    # TSV files of NLP corpora (SST-2, …) contain bare quotes inside sentences: no quoting there.
    reader = csv.reader(
        lines,
        delimiter=delimiter,
        quoting=csv.QUOTE_NONE if kind == "tsv" else csv.QUOTE_MINIMAL,
    )
    try:
        header = next(reader)
    except StopIteration:
        raise UserError(f"{path}:1: no header row") from None
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            line = reader.line_num
            if len(cells) != len(header):
                raise UserError(
                    f"{path}:{line}: {len(cells)} {kind.upper()} columns, the header has {len(header)}"
                )
            yield line, dict(zip(header, cells, strict=True))
    except csv.Error as err:
        raise UserError(f"{path}:{reader.line_num}: malformed {kind.upper()} ({err})") from None


def _jsonl_rows(lines: Iterator[str], path: str | Path) -> Iterator[tuple[int, dict[str, object]]]:
    for line, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as err:
            raise UserError(f"{path}:{line}: not valid JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise UserError(f"{path}:{line}: expected a JSON object per line")
        yield line, row


def _cell(row: dict[str, object], column: str, where: str) -> object:
    if column not in row:
        raise UserError(f"{where}: no column {column!r} (found: {', '.join(map(str, row))})")
    return row[column]


def _labels(value: object, separator: str | None, where: str, column: str) -> list[str]:
    if isinstance(value, list):
        labels = [str(v).strip() for v in value]
    elif isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value)
        labels = [p.strip() for p in text.split(separator)] if separator else [text.strip()]
    else:
        raise UserError(f"{where}: column {column!r} must be a label, a number or a list of labels")
    labels = [label for label in labels if label]
    if not labels:
        raise UserError(f"{where}: column {column!r} is empty")
    return labels


class LabelledTextFiles:
    """The user's own files, one per split (``test`` defaults to ``val``)."""

    def __init__(
        self,
        train: str,
        val: str,
        test: str | None = None,
        text_column: str = "text",
        label_column: str = "label",
        format: Literal["auto", "csv", "tsv", "jsonl"] = "auto",
        label_separator: str | None = None,
        key: str = "data.corpus",
    ) -> None:
        self.paths = {"train": train, "val": val, "test": test or val}
        self.columns = (text_column, label_column)
        self.format = format
        self.label_separator = label_separator
        self.key = key

    def identity(self) -> dict[str, Any]:
        """The files by path, size and modification time, and how they are read."""
        return files_identity(
            "labelled_files",
            self.paths,
            columns=list(self.columns),
            format=self.format,
            label_separator=self.label_separator,
        )

    def records(self, split: str) -> Iterator[LabelledText]:
        """The examples of ``split``, read one line at a time."""
        text_column, label_column = self.columns
        path = self.paths[split]
        return stream_labelled_texts(
            path, f"{self.key}.{split}", text_column, label_column, self.format, self.label_separator
        )

    def load(self) -> dict[str, list[LabelledText]]:
        return {split: list(self.records(split)) for split in self.paths}


def format_jsonl(examples: list[LabelledText]) -> str:
    """JSONL with ``text`` and ``label`` (a list when an example has several labels)."""
    lines = []
    for example in examples:
        label: object = example.labels[0] if len(example.labels) == 1 else example.labels
        lines.append(json.dumps({"text": example.text, "label": label}, ensure_ascii=False))
    return "\n".join(lines) + "\n"
