"""The text generator's corpus as a prepared token store: tokenized once, memory-mapped after.

The store's key hashes the corpus's identity (its files' paths, sizes and modification times, or
the embedded corpus's settings) and the tokenizer: the settings it is trained with, or the hash of
a checkpoint's fitted tokenizer. Same inputs and settings reuse the store; any change makes a new one.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from lstm_apps.data.files import SPLITS
from lstm_apps.data.prepared.store import FORMAT_VERSION, store_key, write_store
from lstm_apps.text.chunked import encode_chunks, train_streaming
from lstm_apps.text.tokenizer import Tokenizer, WordSplit, tokenizer_from_json


class StreamSource(Protocol):
    """A corpus read split by split in chunks, with an identity that changes when its text does."""

    def identity(self) -> dict[str, Any]: ...

    def chunks(self, split: str) -> Iterator[str]: ...


@dataclass(frozen=True)
class TokenizerSettings:
    """How the text generator's tokenizer is trained (``lowercase``: bpe and word; ``word_split``: word)."""

    kind: str
    vocab_size: int
    min_frequency: int
    lowercase: bool = False
    word_split: WordSplit = "whitespace"

    def train(self, chunks: Iterator[str]) -> Tokenizer:
        return train_streaming(
            self.kind, chunks, self.vocab_size, self.min_frequency, self.lowercase, self.word_split
        )


def tokenizer_identity(settings: TokenizerSettings, fitted_json: str | None) -> dict[str, Any]:
    """The tokenizer part of a store's key: a fitted tokenizer by its hash, else its settings
    (those that change nothing for its kind left out, so stores prepared before they existed
    keep their keys)."""
    if fitted_json is not None:
        return {"fitted": hashlib.sha256(fitted_json.encode("utf-8")).hexdigest()}
    identity: dict[str, Any] = {"kind": settings.kind, "min_frequency": settings.min_frequency}
    if settings.kind != "char":
        identity["vocab_size"] = settings.vocab_size
        if settings.lowercase:
            identity["lowercase"] = True
    if settings.kind == "word":
        identity["word_split"] = settings.word_split
    return identity


def store_directory(root: Path, source: StreamSource, tokenizer: dict[str, Any]) -> Path:
    """``root/<key>``: where the store for this corpus and tokenizer lives."""
    identity = {"format": FORMAT_VERSION, "corpus": source.identity(), "tokenizer": tokenizer}
    return root / store_key(identity)


def prepare_stream_store(
    directory: Path,
    source: StreamSource,
    settings: TokenizerSettings,
    fitted_json: str | None,
) -> None:
    """Train (or take) the tokenizer, encode every split chunk by chunk, and write the store."""
    started = time.perf_counter()
    tokenizer: Tokenizer
    if fitted_json is not None:
        tokenizer = tokenizer_from_json(fitted_json)
    else:
        tokenizer = settings.train(source.chunks("train"))
    splits = {split: encode_chunks(tokenizer, source.chunks(split)) for split in SPLITS}
    stored_json = fitted_json or tokenizer.to_json()
    write_store(directory, splits, tokenizer.vocab_size, stored_json, key=directory.name)
    print(
        f"[lstm-apps] prepared {directory} in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
        flush=True,
    )
