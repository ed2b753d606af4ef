"""Classifier data: labelled texts, a tokenizer and label set from the train split, bucketed batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal, Protocol

import numpy as np
import torch

from lstm_apps.apps.classifier.encoding import ClassifierVocab, EncodedTexts, LabelledBatches
from lstm_apps.apps.classifier.labelled_text import LabelledText
from lstm_apps.bounds import Positive, Seed
from lstm_apps.data.prepared.store import PreparedStore
from lstm_apps.errors import UserError
from lstm_apps.pipeline.prepared_records import Columns, PreparedRecordsDataModule


class LabelledSource(Protocol):
    def records(self, split: str) -> Iterator[LabelledText]: ...

    def identity(self) -> dict[str, Any]: ...


class TextClassificationDataModule(PreparedRecordsDataModule):
    """``tokenizer``: word | bpe | char (trained on train texts, stored in checkpoints).
    ``multi_label``: examples may carry several labels (sigmoid outputs). ``class_weights``:
    ``balanced`` weighs each class's loss by ``N / (C * count)`` of the train split (multi-label:
    the positive weight ``negatives / positives`` per label), so rare classes are not ignored.
    Texts are cut at ``max_text_len`` tokens. ``batch_size`` counts texts per device;
    ``max_tokens`` (optional) fills training batches up to that many padded tokens instead,
    ``batch_size`` still capping the rows. The corpus is encoded once into a store under
    ``prepared_dir`` (``pipeline/prepared_records.py``): token and label ids, memory-mapped."""

    store_name = "classifier"
    adoptable = ("tokenizer", "labels")

    def __init__(
        self,
        corpus: LabelledSource,
        tokenizer: Literal["word", "bpe", "char"] = "word",
        vocab_size: Positive = 20000,
        min_frequency: Positive = 2,
        lowercase: bool = True,
        max_text_len: Positive = 256,
        multi_label: bool = False,
        class_weights: Literal["none", "balanced"] = "none",
        batch_size: Positive = 32,
        eval_batch_size: Positive = 256,
        seed: Seed = 0,
        max_tokens: Positive | None = None,
        prepared_dir: str | None = None,
    ) -> None:
        super().__init__(corpus, prepared_dir)
        self.corpus = corpus
        self.tokenizer_kind, self.vocab_size = tokenizer, vocab_size
        self.min_frequency, self.lowercase, self.max_text_len = min_frequency, lowercase, max_text_len
        self.multi_label = multi_label
        self.class_weights = class_weights
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.max_tokens = max_tokens
        self.seed = seed
        self.vocab: ClassifierVocab | None = None
        self.encoded: dict[str, EncodedTexts] = {}

    def store_settings(self, fitted: bool) -> dict[str, Any]:
        if fitted:
            return {}  # the fitted state carries the tokenizer, labels and the text cut
        settings: dict[str, Any] = {
            "tokenizer": self.tokenizer_kind,
            "min_frequency": self.min_frequency,
            "lowercase": self.lowercase,
            "max_text_len": self.max_text_len,
            "multi_label": self.multi_label,
        }
        if self.tokenizer_kind != "char":
            settings["vocab_size"] = self.vocab_size
        return settings

    def fit_vocabularies(self) -> dict[str, str]:
        vocab = ClassifierVocab.train(
            self.records("train"),
            self.tokenizer_kind,
            self.vocab_size,
            self.min_frequency,
            self.lowercase,
            self.multi_label,
            self.max_text_len,
            self._adopted,
        )
        return vocab.to_state()

    def use_vocabularies(self, fitted: dict[str, str]) -> None:
        self.vocab = ClassifierVocab.from_state(fitted)

    def encode_records(self, split: str, records: list[LabelledText]) -> Columns:
        assert self.vocab is not None, "use_vocabularies() first"
        try:
            encoded = self.vocab.encode(records)
        except UserError as err:
            raise self.kept_part_error("labels", err) from None
        return {"tokens": encoded.tokens, "labels": encoded.labels}

    def open_columns(self, store: PreparedStore) -> None:
        self.use_vocabularies(store.fitted)
        for split in self.split_names("tokens"):
            self.encoded[split] = EncodedTexts(self.column(split, "tokens"), self.column(split, "labels"))

    def fitted_state(self) -> dict[str, str]:
        assert self.store is not None, "setup() first"
        return self.store.fitted

    def handoff(self) -> dict[str, Any]:
        assert self.vocab is not None, "setup() first"
        return {
            "vocab_size": self.vocab.tokenizer.vocab_size,
            "labels": list(self.vocab.labels),
            "multi_label": self.vocab.multi_label,
            "pad_id": self.vocab.pad_id,
            "class_weights": self._weights(),
        }

    def _weights(self) -> list[float] | None:
        if self.class_weights == "none" or "train" not in self.encoded:
            return None
        assert self.vocab is not None
        train = self.encoded["train"]
        counts = torch.from_numpy(
            np.bincount(train.labels.ids.astype(np.int64), minlength=len(self.vocab.labels)).astype(
                np.float32
            )
        )
        total = len(train)
        if self.vocab.multi_label:
            return ((total - counts) / counts.clamp(min=1)).tolist()
        return (total / (len(counts) * counts.clamp(min=1))).tolist()

    def make_batches(
        self, split: str, batch_size: int, shuffle: bool, rank: int, world: int
    ) -> LabelledBatches:
        assert self.vocab is not None, "setup() first"
        return LabelledBatches(
            self.encoded[split],
            batch_size,
            self.vocab.pad_id,
            len(self.vocab.labels),
            self.vocab.multi_label,
            shuffle,
            self.seed,
            rank,
            world,
            max_tokens=self.token_budget(shuffle),
        )
