"""Sentence corpora (seq2seq, tagger, classifier) prepared once into a store of columns.

``prepare_data()`` reads the source, fits the vocabularies on its train split (or takes a
checkpoint's), encodes every split and writes the ids, offsets and the texts people read back
(references, source sentences) as flat files (``data/prepared.py``). ``setup()`` memory-maps them:
no rank holds a Python object per sentence, and a later run with the same files and settings (or
the same fitted vocabularies) opens the store without reading the corpus.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from lstm_apps.data.prepared import (
    FORMAT_VERSION,
    PreparedStore,
    default_prepared_dir,
    link_alias,
    open_store,
    problem,
    store_key,
    write_columns,
)
from lstm_apps.errors import UserError
from lstm_apps.pipeline.app_datamodule import BucketedDataModule
from lstm_apps.text.sequence_arrays import SequenceArrays

Columns = dict[str, SequenceArrays | np.ndarray]


def fitted_hash(fitted: dict[str, str]) -> str:
    """A fitted state (name -> JSON) by the hash of its text."""
    return hashlib.sha256(json.dumps(fitted, sort_keys=True).encode("utf-8")).hexdigest()


class PreparedSentenceDataModule(BucketedDataModule):
    """Base of the sentence apps' datamodules: where their store lives and when it is built.

    An app names its store folder (``store_name``) and implements three things:
    ``store_settings(fitted)`` (the data settings its ids depend on; with ``fitted`` the
    tokenizer settings are left out, as the fitted state replaces them), ``encode_corpus()``
    (read the source, fit or take the vocabularies, return them with the columns to store) and
    ``open_columns(store)`` (take the mapped columns and the vocabularies back).
    """

    store_name = ""

    def __init__(self, source: Any, prepared_dir: str | None = None) -> None:
        super().__init__(source)
        self.prepared_dir = (
            Path(prepared_dir).expanduser() if prepared_dir else default_prepared_dir(self.store_name)
        )
        self.store: PreparedStore | None = None

    # What each app provides.
    def store_settings(self, fitted: bool) -> dict[str, Any]:
        raise NotImplementedError

    def encode_corpus(self) -> tuple[dict[str, str], Columns]:
        """The vocabularies used (name -> JSON) and the columns. With a checkpoint's fitted
        state the store keeps that state's own text, so that its key finds the store again."""
        raise NotImplementedError

    def open_columns(self, store: PreparedStore) -> None:
        raise NotImplementedError

    # Keys and the store's life.
    def _key(self, fitted: dict[str, str] | None) -> str:
        identity = getattr(self.source, "identity", None)
        if identity is None:
            raise UserError(
                f"data.corpus: {type(self.source).__name__} has no identity() method; a source "
                "returns there what its data depends on (its files' paths, sizes and times)"
            )
        return store_key(
            {
                "format": FORMAT_VERSION,
                "app": self.store_name,
                "corpus": identity(),
                "settings": self.store_settings(fitted is not None),
                "fitted": fitted_hash(fitted) if fitted is not None else None,
            }
        )

    def store_directory(self) -> Path:
        """Where this corpus, encoded with these settings (or the checkpoint's vocabularies), is."""
        return self.prepared_dir / self._key(self._fitted_state)

    def prepare_data(self) -> None:
        """Generate the source if it is generated, then encode it into the store unless an intact
        one is there. A store prepared with settings is also named by the key of what it fitted,
        so a resumed or evaluated checkpoint finds it without encoding the corpus again."""
        super().prepare_data()
        directory = self.store_directory()
        if problem(directory) is not None:
            started = time.perf_counter()
            fitted, columns = self.encode_corpus()
            if self._fitted_state is not None:
                fitted = dict(self._fitted_state)
            write_columns(directory, columns, key=directory.name, fitted=fitted)
            print(
                f"[lstm-apps] prepared {directory} in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        if self._fitted_state is None:
            fitted = open_store(directory).fitted
            link_alias(self.prepared_dir / self._key(fitted), directory)

    def setup(self, stage: str | None = None) -> None:
        if self.store is not None:
            return
        directory = self.store_directory()
        if problem(directory) is not None and self.distributed_position()[1] == 1:
            self.prepare_data()  # a single process (eval on a new corpus) may prepare here
        self.store = open_store(directory)
        self.open_columns(self.store)

    def split_names(self, column: str) -> list[str]:
        """The splits of the store that have ``column`` (``<split>.<column>``), in stored order."""
        assert self.store is not None, "setup() first"
        suffix = f".{column}"
        return [name[: -len(suffix)] for name in self.store.splits if name.endswith(suffix)]

    def column(self, split: str, column: str) -> SequenceArrays:
        assert self.store is not None, "setup() first"
        return self.store.splits[f"{split}.{column}"].arrays()

    def plain_column(self, split: str, column: str) -> np.ndarray:
        assert self.store is not None, "setup() first"
        return self.store.splits[f"{split}.{column}"].ids
