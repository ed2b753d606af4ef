"""Tagger data: CoNLL sentences, vocabularies from the train split, length-bucketed batches."""

from __future__ import annotations

from typing import Any, Protocol

from lstm_apps.apps.tagger.encoding import EncodedSentences, TaggedBatches, TaggerVocab
from lstm_apps.data.conll import TaggedSentence
from lstm_apps.errors import UserError
from lstm_apps.pipeline.app_datamodule import BucketedDataModule
from lstm_apps.text.tag_schemes import MODEL_SCHEMES, convert


class TaggedSource(Protocol):
    def load(self) -> dict[str, list[TaggedSentence]]: ...


class TaggingDataModule(BucketedDataModule):
    """``scheme``: the tagging scheme the model learns (iob2 | bioes | none); sources hand over
    IOB2 (or scheme-free labels) and are converted. ``batch_size`` counts sentences per device;
    ``max_tokens`` (optional) fills training batches up to that many padded words instead,
    ``batch_size`` still capping the rows. Ids are held as flat arrays (``EncodedSentences``).
    ``lowercase`` and ``min_frequency`` shape the word vocabulary (characters keep case)."""

    def __init__(
        self,
        corpus: TaggedSource,
        scheme: str = "bioes",
        min_frequency: int = 1,
        lowercase: bool = False,
        max_word_chars: int = 30,
        batch_size: int = 32,
        eval_batch_size: int = 256,
        seed: int = 0,
        max_tokens: int | None = None,
    ) -> None:
        super().__init__(source=corpus)
        if scheme not in MODEL_SCHEMES:
            raise UserError(f"data.scheme: must be one of {', '.join(MODEL_SCHEMES)}, got {scheme!r}")
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
        self.sentences: dict[str, list[TaggedSentence]] = {}
        self.encoded: dict[str, EncodedSentences] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.encoded:
            return
        loaded = self.corpus.load()
        for split, sentences in loaded.items():
            for sentence in sentences:
                sentence.tags = convert(sentence.tags, "iob2", self.scheme)
            self.sentences[split] = sentences
        if self._fitted_state is not None:
            self.vocab = TaggerVocab.from_state(self._fitted_state)
            if self.vocab.scheme != self.scheme:
                raise UserError(
                    f"data.scheme: the checkpoint's model tags in {self.vocab.scheme}, not {self.scheme}"
                )
        else:
            self.vocab = TaggerVocab.train(
                self.sentences["train"],
                self.scheme,
                self.min_frequency,
                self.lowercase,
                max_word_chars=self.max_word_chars,
            )
        for split, sentences in self.sentences.items():
            self.encoded[split] = self.vocab.encode(sentences, source=f"data.corpus.{split}")

    def fitted_state(self) -> dict[str, str]:
        assert self.vocab is not None, "setup() first"
        return self.vocab.to_state()

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

    def references(self, split: str) -> list[list[str]]:
        """Gold tag sequences of ``split`` in dataset order (batches carry their ``index``)."""
        return [s.tags for s in self.sentences[split]]

    def example_input(self, split: str, index: int) -> list[str]:
        """The tokens of sentence ``index`` of ``split``."""
        return self.sentences[split][index].tokens

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
