"""Corpora of records — sentences, labelled texts, utterances, chorales — prepared once into a store
of columns, for every app whose datamodule builds on ``PreparedRecordsDataModule``.

``prepare_data()`` streams the source: one pass over the train split fits the vocabularies (or a
checkpoint's are taken), then every split is read again ``CHUNK`` records at a time, encoded and
appended to flat files of ids, offsets and the texts people read back (references, source
sentences; ``data/prepared/store.py``). Neither pass holds the corpus, so preparing memory stays flat
in its size. ``setup()`` memory-maps the store: no rank holds a Python object per sentence, and a
later run with the same files and settings (or the same fitted vocabularies) opens it without
reading the corpus.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from lstm_apps.data.prepared.sequence_arrays import SequenceArrays
from lstm_apps.data.prepared.store import (
    FORMAT_VERSION,
    Column,
    ColumnWriter,
    PreparedStore,
    default_prepared_dir,
    link_alias,
    open_store,
    problem,
    store_key,
)
from lstm_apps.errors import UserError
from lstm_apps.pipeline.app_datamodule import BucketedDataModule

Columns = dict[str, Column]
SPLITS = ("train", "val", "test")
CHUNK = 10_000  # records encoded (and held as Python objects) at a time


def fitted_hash(fitted: dict[str, str]) -> str:
    """A fitted state (name -> JSON) by the hash of its text."""
    return hashlib.sha256(json.dumps(fitted, sort_keys=True).encode("utf-8")).hexdigest()


class PreparedRecordsDataModule(BucketedDataModule):
    """Base of the datamodules whose records are prepared into a store: where it lives and when it
    is built.

    An app names its store folder (``store_name``) and implements: ``store_settings(fitted)``
    (the data settings its ids depend on; with ``fitted`` the tokenizer settings are left out, as
    the fitted state replaces them), ``fit_vocabularies()`` (passes over ``records("train")``,
    returning the fitted state as name -> JSON), ``use_vocabularies(fitted)`` (take a fitted state,
    a checkpoint's or just fitted), ``encode_records(split, records)`` (the columns of one chunk:
    ``{"source": …, "target_text": …}``) and ``open_columns(store)`` (take the mapped columns and
    the vocabularies back). An app whose fitted parts stand alone lists them in ``adoptable`` and
    takes ``self._adopted`` ones in ``fit_vocabularies`` instead of fitting them.

    The source gives each split's records by ``records(split)`` (an iterator, read as it goes);
    a source with only ``load()`` (every split as a list) works too, held in memory while
    preparing.
    """

    store_name = ""
    # Records encoded (and held in memory) at a time; an app whose records are large (audio) sets fewer.
    chunk_records = CHUNK

    def __init__(self, source: Any, prepared_dir: str | None = None) -> None:
        super().__init__(source)
        self.prepared_dir = (
            Path(prepared_dir).expanduser() if prepared_dir else default_prepared_dir(self.store_name)
        )
        self.store: PreparedStore | None = None
        self._loaded_splits: dict[str, list[Any]] | None = None  # a source without records()

    # What each app provides.
    def store_settings(self, fitted: bool) -> dict[str, Any]:
        raise NotImplementedError

    def fit_vocabularies(self) -> dict[str, str]:
        raise NotImplementedError

    def use_vocabularies(self, fitted: dict[str, str]) -> None:
        raise NotImplementedError

    def encode_records(self, split: str, records: list[Any]) -> Columns:
        raise NotImplementedError

    # Reading the source.
    def records(self, split: str) -> Iterator[Any]:
        """``split``'s records from the source, streamed where it can."""
        stream = getattr(self.source, "records", None)
        if stream is not None:
            return iter(stream(split))
        return iter(self._loaded()[split])

    def split_names_of_source(self) -> list[str]:
        if getattr(self.source, "records", None) is not None:
            return list(SPLITS)
        return list(self._loaded())

    def _loaded(self) -> dict[str, list[Any]]:
        if self._loaded_splits is None:
            self._loaded_splits = self.source.load()
        return self._loaded_splits

    def encode_corpus(self, directory: Path) -> None:
        """Fit (or take) the vocabularies, then encode every split chunk by chunk into the store
        at ``directory``. With a checkpoint's fitted state the store keeps that state's own
        text, so that its key finds the store again."""
        if self._fitted_state is not None:
            fitted = dict(self._fitted_state)
        else:
            fitted = self.fit_vocabularies()
        self.use_vocabularies(fitted)
        with ColumnWriter(directory) as writer:
            for split in self.split_names_of_source():
                records = self.records(split)
                while part := list(islice(records, self.chunk_records)):
                    encoded = self.encode_records(split, part)
                    writer.append({f"{split}.{name}": column for name, column in encoded.items()})
            writer.finish(directory.name, fitted)
        self._loaded_splits = None

    def open_columns(self, store: PreparedStore) -> None:
        raise NotImplementedError

    def kept_part_error(self, part: str, err: UserError) -> UserError:
        """``err`` (a value outside the fitted ``part``, e.g. an unknown label) with the way out when
        that part came from a checkpoint rather than from this data."""
        if self._fitted_state is None and part not in self._adopted:
            return err
        return UserError(
            f"{err}; the {part} are the checkpoint's (init_from_fitted without {part} fits them anew)"
        )

    # Keys and the store's life.
    def _key(self, fitted: dict[str, str] | None) -> str:
        identity = getattr(self.source, "identity", None)
        if identity is None:
            raise UserError(
                f"data.corpus: {type(self.source).__name__} has no identity() method; a source "
                "returns there what its data depends on (its files' paths, sizes and times)"
            )
        key: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "app": self.store_name,
            "corpus": identity(),
            "settings": self.store_settings(fitted is not None),
            "fitted": fitted_hash(fitted) if fitted is not None else None,
        }
        if fitted is None and self._adopted:  # part taken, the rest fitted with the settings
            key["adopted"] = fitted_hash(self._adopted)
        return store_key(key)

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
            self.encode_corpus(directory)
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
