"""Seq2seq data: parallel text, tokenizers trained on the train split, prepared once, bucketed batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any, Literal, Protocol

import numpy as np

from lstm_apps.bounds import Positive, Seed
from lstm_apps.data.prepared.sequence_arrays import SequenceArrays, TextColumn, utf8_arrays
from lstm_apps.data.prepared.store import PreparedStore
from lstm_apps.pipeline.prepared_records import Columns, PreparedRecordsDataModule
from lstm_apps.text.batching import BucketedPairBatches
from lstm_apps.text.tokenizer import (
    BOS,
    EOS,
    PAD,
    Tokenizer,
    WordSplit,
    fitted,
    tokenizer_from_json,
    train_tokenizer,
)

Pairs = list[tuple[str, str]]
# Translations are scored on detokenized text, so word-level output must decode to real spacing.
WORD_SPLIT: WordSplit = "reversible"


class ParallelSource(Protocol):
    def records(self, split: str) -> Iterator[tuple[str, str]]: ...

    def identity(self) -> dict[str, Any]: ...


class ParallelDataModule(PreparedRecordsDataModule):
    """``tokenizer``: char | word | bpe; ``shared_vocab``: one tokenizer for both sides.

    ``batch_size`` counts sentence pairs per device; ``max_tokens`` (optional) fills training
    batches up to that many padded tokens instead (the longer side of a pair counts),
    ``batch_size`` still capping the rows. Training pairs longer than
    ``max_source_len``/``max_target_len`` tokens are dropped (evaluation keeps everything).
    The corpus is encoded once into a store under ``prepared_dir``
    (``pipeline/prepared_records.py``): both sides' ids and both sides' texts, memory-mapped.
    """

    store_name = "seq2seq"
    adoptable = ("source", "target")

    def __init__(
        self,
        corpus: ParallelSource,
        tokenizer: Literal["char", "word", "bpe"] = "char",
        shared_vocab: bool = False,
        vocab_size: Positive = 8000,
        min_frequency: Positive = 1,
        lowercase: bool = False,
        batch_size: Positive = 64,
        eval_batch_size: Positive = 256,
        max_source_len: Positive = 200,
        max_target_len: Positive = 200,
        seed: Seed = 0,
        max_tokens: Positive | None = None,
        prepared_dir: str | None = None,
    ) -> None:
        super().__init__(corpus, prepared_dir)
        self.corpus = corpus
        self.tokenizer_kind = tokenizer
        self.shared_vocab = shared_vocab
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        self.lowercase = lowercase
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.max_source_len = max_source_len
        self.max_target_len = max_target_len
        self.max_tokens = max_tokens
        self.seed = seed
        self.src_tokenizer: Tokenizer | None = None
        self.tgt_tokenizer: Tokenizer | None = None
        self.source_texts: dict[str, TextColumn] = {}
        self.target_texts: dict[str, TextColumn] = {}
        self.encoded: dict[str, tuple[SequenceArrays, SequenceArrays]] = {}

    def store_settings(self, fitted: bool) -> dict[str, Any]:
        lengths = {"max_source_len": self.max_source_len, "max_target_len": self.max_target_len}
        if fitted:
            return lengths
        vocabulary: dict[str, Any] = {
            "tokenizer": self.tokenizer_kind,
            "shared_vocab": self.shared_vocab,
            "min_frequency": self.min_frequency,
            "lowercase": self.lowercase,
        }
        if self.tokenizer_kind != "char":
            vocabulary["vocab_size"] = self.vocab_size
        if self.tokenizer_kind == "word":
            vocabulary["word_split"] = WORD_SPLIT
        return {**lengths, **vocabulary}

    def _train(self, texts: Iterable[str]) -> Tokenizer:
        return train_tokenizer(
            self.tokenizer_kind,
            texts,
            self.vocab_size,
            self.min_frequency,
            self.lowercase,
            word_split=WORD_SPLIT,
        )

    def fit_vocabularies(self) -> dict[str, str]:
        """Tokenizers trained on the train split, streamed (one pass per side). An adopted side
        (a language model's tokenizer) is taken; with ``shared_vocab`` it serves both sides."""
        adopted = self._adopted
        if self.shared_vocab and adopted:
            shared = adopted.get("source", adopted.get("target", ""))
            return {"source": shared, "target": shared}
        sources = (s for s, _ in self.records("train"))
        targets = (t for _, t in self.records("train"))
        if self.shared_vocab:
            source = target = self._train(chain(sources, targets)).to_json()
            return {"source": source, "target": target}
        source = adopted.get("source") or self._train(sources).to_json()
        target = adopted.get("target") or self._train(targets).to_json()
        return {"source": source, "target": target}

    def use_vocabularies(self, fitted: dict[str, str]) -> None:
        self.src_tokenizer = tokenizer_from_json(fitted["source"])
        self.tgt_tokenizer = (
            self.src_tokenizer
            if fitted["target"] == fitted["source"]
            else tokenizer_from_json(fitted["target"])
        )

    def encode_records(self, split: str, records: list[tuple[str, str]]) -> Columns:
        pairs = records
        ids = (
            encode_packed(self._source_tokenizer(), [s for s, _ in pairs]),
            encode_packed(self._target_tokenizer(), [t for _, t in pairs]),
        )
        keep = self._kept(split, *ids)
        if keep is not None:
            ids = (ids[0].select(keep), ids[1].select(keep))
            pairs = [pairs[i] for i in keep.tolist()]
        return {
            "source": ids[0],
            "target": ids[1],
            "source_text": utf8_arrays(s for s, _ in pairs),
            "target_text": utf8_arrays(t for _, t in pairs),
        }

    def _kept(self, split: str, sources: SequenceArrays, targets: SequenceArrays) -> np.ndarray | None:
        """Positions of the training pairs within the length limits (and not empty); None when
        every pair is kept or for evaluation splits, which keep everything."""
        if split != "train":
            return None
        s, t = sources.lengths, targets.lengths
        keep = np.flatnonzero((s > 0) & (s <= self.max_source_len) & (t > 0) & (t <= self.max_target_len))
        return keep if len(keep) < len(sources) else None

    def open_columns(self, store: PreparedStore) -> None:
        self.use_vocabularies(store.fitted)
        for split in self.split_names("source"):
            self.encoded[split] = (self.column(split, "source"), self.column(split, "target"))
            self.source_texts[split] = TextColumn(self.column(split, "source_text"))
            self.target_texts[split] = TextColumn(self.column(split, "target_text"))

    def _source_tokenizer(self) -> Tokenizer:
        return fitted(self.src_tokenizer, "setup()")

    def _target_tokenizer(self) -> Tokenizer:
        return fitted(self.tgt_tokenizer, "setup()")

    def fitted_state(self) -> dict[str, str]:
        assert self.store is not None, "setup() first"
        return self.store.fitted

    def handoff(self) -> dict[str, Any]:
        tgt = self._target_tokenizer()
        return {
            "src_vocab_size": self._source_tokenizer().vocab_size,
            "tgt_vocab_size": tgt.vocab_size,
            "pad_id": tgt.token_id(PAD),
            "bos_id": tgt.token_id(BOS),
            "eos_id": tgt.token_id(EOS),
        }

    def references(self, split: str) -> TextColumn:
        """Target strings of ``split`` in dataset order (batches carry their ``index``)."""
        return self.target_texts[split]

    def example_input(self, split: str, index: int) -> str:
        """The source sentence of pair ``index`` of ``split``."""
        return self.source_texts[split][index]

    def make_batches(
        self, split: str, batch_size: int, shuffle: bool, rank: int, world: int
    ) -> BucketedPairBatches:
        ids = self.handoff()
        sources, targets = self.encoded[split]
        return BucketedPairBatches(
            sources,
            targets,
            batch_size,
            ids["pad_id"],
            ids["bos_id"],
            ids["eos_id"],
            shuffle=shuffle,
            seed=self.seed,
            rank=rank,
            world=world,
            max_tokens=self.token_budget(shuffle),
        )


def encode_packed(tokenizer: Tokenizer, texts: Sequence[str], chunk: int = 10_000) -> SequenceArrays:
    """``texts`` tokenized ``chunk`` at a time into packed arrays (the lists of one chunk at most
    exist at once)."""
    chunks = (tokenizer.encode_batch(list(texts[i : i + chunk])) for i in range(0, len(texts), chunk))
    return SequenceArrays.from_chunks(chunks, tokenizer.vocab_size)
