"""Pretrained word vectors in the GloVe / word2vec text format, read into an embedding table.

``word v1 v2 … vD`` per line; a first line of two integers (word2vec's ``count dim`` header) is
skipped. Only the vocabulary's words are kept, so a multi-gigabyte file costs one streaming pass.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import torch
from torch import nn

from lstm_apps.errors import UserError

log = logging.getLogger("lstm_apps")


def _open_text(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _lines(path: Path) -> Iterator[str]:
    try:
        with _open_text(path) as handle:
            yield from handle
    except UnicodeDecodeError as err:
        raise UserError(f"{path} is not UTF-8 text (byte {err.start})") from None


def initialise_embedding(
    embedding: nn.Embedding, path: str | Path, vocabulary: list[str], key: str, dim_key: str
) -> None:
    """Start a new model's ``embedding`` from the vectors file at ``path`` (the setting ``key``),
    row ``i`` for ``vocabulary[i]``; the padding row stays zero. ``dim_key`` names the setting
    the vectors' size must equal."""
    with torch.no_grad():
        found = load_word_vectors(path, vocabulary, embedding.weight, key, dim_key)
        if embedding.padding_idx is not None:
            embedding.weight[embedding.padding_idx].zero_()
    log.info("word vectors: %d of %d vocabulary words found in %s", found, len(vocabulary), path)


def load_word_vectors(
    path: str | Path, vocabulary: list[str], weight: torch.Tensor, key: str, dim_key: str = "model.word_dim"
) -> int:
    """Copy the vectors of ``vocabulary`` words into the rows of ``weight``; return how many matched.

    A word matches exactly or, failing that, by its lowercase form (GloVe is lowercased). Rows of
    words missing from the file keep their initialisation and are learned.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise UserError(f"{key}: file not found: {file}")
    dim = weight.size(1)
    exact_rows = {word: row for row, word in enumerate(vocabulary)}
    lowercase_rows: dict[str, list[int]] = {}
    for row, word in enumerate(vocabulary):
        if word.lower() != word:
            lowercase_rows.setdefault(word.lower(), []).append(row)
    filled: set[int] = set()
    exact_filled: set[int] = set()
    for number, line in enumerate(_lines(file), 1):
        parts = line.rstrip().split(" ")
        if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
            continue
        word = parts[0]
        targets = [(row, False) for row in lowercase_rows.get(word, ()) if row not in exact_filled]
        if word in exact_rows:
            targets.append((exact_rows[word], True))
        if not targets:
            continue
        if len(parts) - 1 != dim:
            raise UserError(
                f"{file}:{number}: vector has {len(parts) - 1} values, {key} needs {dim} ({dim_key})"
            )
        try:
            vector = torch.tensor([float(v) for v in parts[1:]], dtype=weight.dtype)
        except ValueError:
            raise UserError(f"{file}:{number}: non-numeric vector value for {word!r}") from None
        for row, is_exact in targets:
            weight[row] = vector
            filled.add(row)
            if is_exact:
                exact_filled.add(row)
    return len(filled)
