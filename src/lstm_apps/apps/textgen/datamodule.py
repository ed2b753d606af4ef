"""Text generator data: one corpus, one tokenizer, contiguous streams cut into BPTT windows."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from torch.utils.data import DataLoader

from lstm_apps.apps.textgen.prepared_stream import (
    StreamSource,
    TokenizerSettings,
    prepare_stream_store,
    store_directory,
    tokenizer_identity,
)
from lstm_apps.apps.textgen.stream import BPTTWindows, stream_rows
from lstm_apps.bounds import Positive
from lstm_apps.data.prepared.store import default_prepared_dir, link_alias, open_store, problem
from lstm_apps.errors import UserError
from lstm_apps.pipeline.app_datamodule import AppDataModule
from lstm_apps.text.tokenizer import Tokenizer, WordSplit, fitted, tokenizer_from_json


class TextStreamDataModule(AppDataModule):
    """Language-model data for stateful truncated BPTT.

    ``tokenizer``: ``char``, ``bpe`` or ``word`` (``word_split`` says how words are cut;
    ``lowercase`` for bpe and word). ``reverse`` reads every split backwards, token by token: the
    backward language model whose encoder fills the backward direction of another app's
    bidirectional encoder (``init_from_backward``, docs/fine-tuning.md).

    The corpus is tokenized once, in ``prepare_data()`` (one process per node), into a prepared
    token store under ``prepared_dir`` (``data/prepared/store.py``); ``setup()`` memory-maps it, so a
    rank holds no Python object per token and a later run with the same corpus and tokenizer
    starts without tokenizing.

    ``batch_size`` is per device: with N processes the stream is laid out in ``N * batch_size``
    rows and each rank reads its own block of rows, so ranks see disjoint text and each row stays
    contiguous (the hidden state carried across batches stays meaningful).
    """

    def __init__(
        self,
        corpus: StreamSource,
        tokenizer: Literal["char", "bpe", "word"] = "char",
        vocab_size: Positive = 4000,
        min_frequency: Positive = 1,
        lowercase: bool = False,
        word_split: WordSplit = "whitespace",
        reverse: bool = False,
        batch_size: Positive = 64,
        eval_batch_size: Positive = 16,
        bptt: Positive = 128,
        prepared_dir: str | None = None,
    ) -> None:
        super().__init__(source=corpus)
        self.corpus = corpus
        self.tokenizer_settings = TokenizerSettings(
            tokenizer, vocab_size, min_frequency, lowercase, word_split
        )
        self.reverse = reverse
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.bptt = bptt
        self.prepared_dir = (
            Path(prepared_dir).expanduser() if prepared_dir else default_prepared_dir("textgen")
        )
        self.tokenizer: Tokenizer | None = None
        self.tokenizer_json = ""  # as stored: a checkpoint's key then finds the same store
        self.ids: dict[str, np.ndarray] = {}

    def _fitted_json(self) -> str | None:
        return self._fitted_state["tokenizer"] if self._fitted_state is not None else None

    def store_directory(self, fitted_json: str | None = None) -> Path:
        """Where this corpus, tokenized with this tokenizer (``fitted_json``, else the
        checkpoint's or the settings), is (or will be) prepared."""
        identity = tokenizer_identity(self.tokenizer_settings, fitted_json or self._fitted_json())
        return store_directory(self.prepared_dir, self.corpus, identity)

    def prepare_data(self) -> None:
        """Tokenize the corpus into the store unless an intact one is there already. A store
        prepared with settings is also named by its tokenizer's key, so a resumed or evaluated
        checkpoint finds it without tokenizing the corpus again."""
        directory = self.store_directory()
        if problem(directory) is not None:
            prepare_stream_store(directory, self.corpus, self.tokenizer_settings, self._fitted_json())
        if self._fitted_json() is None:
            link_alias(self.store_directory(open_store(directory).tokenizer_json), directory)

    def setup(self, stage: str | None = None) -> None:
        if self.ids:
            return
        directory = self.store_directory()
        if problem(directory) is not None and self.distributed_position()[1] == 1:
            self.prepare_data()  # a single process (eval on a new corpus) may prepare here
        store = open_store(directory)
        self.tokenizer_json = store.tokenizer_json
        self.tokenizer = tokenizer_from_json(store.tokenizer_json)
        # Reversed: a view with a negative stride over the same memory-mapped tokens, no copy.
        self.ids = {
            split: prepared.ids[::-1] if self.reverse else prepared.ids
            for split, prepared in store.splits.items()
        }

    def _tokenizer(self) -> Tokenizer:
        return fitted(self.tokenizer, "setup()")

    def fitted_state(self) -> dict[str, str]:
        self._tokenizer()
        return {"tokenizer": self.tokenizer_json}

    def handoff(self) -> dict[str, Any]:
        return {"vocab_size": self._tokenizer().vocab_size, "reverse": self.reverse}

    def _windows(self, split: str, batch_size: int) -> BPTTWindows:
        rank, world = self.distributed_position()
        try:
            rows = stream_rows(self.ids[split], batch_size * world)
        except ValueError:
            raise UserError(
                f"data: the {split} split has {len(self.ids[split])} tokens, too few for "
                f"{batch_size} rows x {world} process(es); lower data.batch_size/data.eval_batch_size"
            ) from None
        return BPTTWindows(rows[rank * batch_size : (rank + 1) * batch_size], self.bptt)

    def train_dataloader(self) -> DataLoader:
        windows = self._windows("train", self.batch_size)
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return DataLoader(windows, batch_size=None, pin_memory=self.pin_memory())
        windows.epoch_source = lambda: trainer.current_epoch
        return self.resumable_loader(windows, trainer)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(
            self._windows("val", self.eval_batch_size), batch_size=None, pin_memory=self.pin_memory()
        )

    def test_dataloader(self) -> DataLoader:
        return DataLoader(
            self._windows("test", self.eval_batch_size), batch_size=None, pin_memory=self.pin_memory()
        )
