"""Tagger data: CoNLL sentences, vocabularies from the train split, length-bucketed batches."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any, Protocol

from lstm_apps.apps.tagger.conll import TaggedSentence
from lstm_apps.apps.tagger.encoding import EncodedSentences, TaggedBatches, TaggerVocab
from lstm_apps.apps.tagger.tag_schemes import ModelScheme, convert
from lstm_apps.bounds import Positive, Seed
from lstm_apps.data.prepared.sequence_arrays import SequenceArrays, TextColumn, utf8_arrays
from lstm_apps.data.prepared.store import Positions, PreparedStore
from lstm_apps.errors import UserError
from lstm_apps.pipeline.prepared_records import Columns, PreparedRecordsDataModule


class TaggedSource(Protocol):
    def records(self, split: str) -> Iterator[TaggedSentence]: ...

    def identity(self) -> dict[str, Any]: ...


class TagColumn(Sequence[list[str]]):
    """The tag names of each stored sentence, decoded from the tag ids on access."""

    def __init__(self, tags: SequenceArrays, names: Sequence[str]) -> None:
        self.tags, self.names = tags, list(names)

    def __len__(self) -> int:
        return len(self.tags)

    def __getitem__(self, index: int) -> list[str]:  # type: ignore[override]
        return [self.names[i] for i in self.tags[index].tolist()]


class TaggingDataModule(PreparedRecordsDataModule):
    """``scheme``: the tagging scheme the model learns (iob2 | bioes | none); sources hand over
    IOB2 (or scheme-free labels) and are converted. ``batch_size`` counts sentences per device;
    ``max_tokens`` (optional) fills training batches up to that many padded words instead,
    ``batch_size`` still capping the rows. ``lowercase`` and ``min_frequency`` shape the word
    vocabulary (characters keep case). The corpus is encoded once into a store under
    ``prepared_dir`` (``pipeline/prepared_records.py``): word, character and tag ids and the
    sentences' words, memory-mapped."""

    store_name = "tagger"
    adoptable = ("words", "chars", "tags")

    def __init__(
        self,
        corpus: TaggedSource,
        scheme: ModelScheme = "bioes",
        min_frequency: Positive = 1,
        lowercase: bool = False,
        max_word_chars: Positive = 30,
        batch_size: Positive = 32,
        eval_batch_size: Positive = 256,
        seed: Seed = 0,
        max_tokens: Positive | None = None,
        prepared_dir: str | None = None,
    ) -> None:
        super().__init__(corpus, prepared_dir)
        self.corpus = corpus
        self.scheme = scheme
        self.min_frequency = min_frequency
        self.lowercase = lowercase
        self.max_word_chars = max_word_chars
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.max_tokens = max_tokens
        self.seed = seed
        self.vocab: TaggerVocab | None = None
        self.tokens: dict[str, TextColumn] = {}
        self.encoded: dict[str, EncodedSentences] = {}

    def store_settings(self, fitted: bool) -> dict[str, Any]:
        if self._fitted_state is not None:
            learned = json.loads(self._fitted_state["tags"])["scheme"]
            if learned != self.scheme:  # one line before anything is read or keyed
                raise UserError(f"data.scheme: the checkpoint's model tags in {learned}, not {self.scheme}")
        if fitted:
            return {"scheme": self.scheme}
        return {
            "scheme": self.scheme,
            "min_frequency": self.min_frequency,
            "lowercase": self.lowercase,
            "max_word_chars": self.max_word_chars,
        }

    def _in_scheme(self, sentences: Iterable[TaggedSentence]) -> Iterator[TaggedSentence]:
        """``sentences`` with their tags in the model's scheme (the readers give iob2)."""
        for sentence in sentences:
            yield replace(sentence, tags=convert(sentence.tags, "iob2", self.scheme))

    def fit_vocabularies(self) -> dict[str, str]:
        vocab = TaggerVocab.train(
            self._in_scheme(self.records("train")),
            self.scheme,
            self.min_frequency,
            self.lowercase,
            max_word_chars=self.max_word_chars,
            adopted=self._adopted,
        )
        return vocab.to_state()

    def use_vocabularies(self, fitted: dict[str, str]) -> None:
        self.vocab = TaggerVocab.from_state(fitted)

    def encode_records(self, split: str, records: list[TaggedSentence]) -> Columns:
        assert self.vocab is not None, "use_vocabularies() first"
        sentences = list(self._in_scheme(records))
        try:
            encoded = self.vocab.encode(sentences, source=f"data.corpus.{split}")
        except UserError as err:
            raise self.kept_part_error("tags", err) from None
        return {
            "words": encoded.words,
            "tags": encoded.tags,
            "chars": encoded.chars,
            "token_offsets": Positions(encoded.token_offsets),
            "tokens": utf8_arrays(" ".join(s.tokens) for s in sentences),
        }

    def open_columns(self, store: PreparedStore) -> None:
        self.use_vocabularies(store.fitted)
        for split in self.split_names("words"):
            self.encoded[split] = EncodedSentences(
                self.column(split, "words"),
                self.column(split, "tags"),
                self.column(split, "chars"),
                self.plain_column(split, "token_offsets"),
            )
            self.tokens[split] = TextColumn(self.column(split, "tokens"))

    def fitted_state(self) -> dict[str, str]:
        assert self.store is not None, "setup() first"
        return self.store.fitted

    def handoff(self) -> dict[str, Any]:
        assert self.vocab is not None, "setup() first"
        return {
            "word_vocab_size": self.vocab.words.vocab_size,
            "char_vocab_size": self.vocab.chars.vocab_size,
            "tags": list(self.vocab.tags),
            "scheme": self.scheme,
            "pad_id": self.vocab.pad_id,
            "unk_id": self.vocab.unk_id,
        }

    def references(self, split: str) -> TagColumn:
        """Gold tag sequences of ``split`` in dataset order (batches carry their ``index``)."""
        assert self.vocab is not None, "setup() first"
        return TagColumn(self.encoded[split].tags, self.vocab.tags)

    def example_input(self, split: str, index: int) -> list[str]:
        """The tokens of sentence ``index`` of ``split``."""
        return self.tokens[split][index].split(" ")

    def make_batches(
        self, split: str, batch_size: int, shuffle: bool, rank: int, world: int
    ) -> TaggedBatches:
        assert self.vocab is not None, "setup() first"
        return TaggedBatches(
            self.encoded[split],
            batch_size,
            self.vocab.pad_id,
            shuffle=shuffle,
            seed=self.seed,
            rank=rank,
            world=world,
            max_tokens=self.token_budget(shuffle),
        )
