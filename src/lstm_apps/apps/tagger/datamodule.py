"""Tagger data: CoNLL sentences, vocabularies from the train split, length-bucketed batches."""

from __future__ import annotations

from typing import Any, Protocol

from torch.utils.data import DataLoader

from lstm_apps.apps.tagger.encoding import EncodedSentence, TaggedBatches, TaggerVocab
from lstm_apps.data.conll import TaggedSentence
from lstm_apps.errors import UserError
from lstm_apps.pipeline.app_datamodule import AppDataModule
from lstm_apps.text.tag_schemes import MODEL_SCHEMES, convert


class TaggedSource(Protocol):
    def load(self) -> dict[str, list[TaggedSentence]]: ...


class TaggingDataModule(AppDataModule):
    """``scheme``: the tagging scheme the model learns (iob2 | bioes | none); sources hand over
    IOB2 (or scheme-free labels) and are converted. ``batch_size`` counts sentences per device.
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
    ) -> None:
        super().__init__()
        if scheme not in MODEL_SCHEMES:
            raise UserError(f"data.scheme: must be one of {', '.join(MODEL_SCHEMES)}, got {scheme!r}")
        self.corpus = corpus
        self.scheme = scheme
        self.min_frequency = min_frequency
        self.lowercase = lowercase
        self.max_word_chars = max_word_chars
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.seed = seed
        self.vocab: TaggerVocab | None = None
        self.sentences: dict[str, list[TaggedSentence]] = {}
        self.encoded: dict[str, list[EncodedSentence]] = {}
        self._datasets: dict[str, TaggedBatches] = {}

    def prepare_data(self) -> None:
        prepare = getattr(self.corpus, "prepare", None)
        if prepare is not None:
            prepare()

    def setup(self, stage: str | None = None) -> None:
        if self.encoded:
            return
        loaded = self.corpus.load()
        for split, sentences in loaded.items():
            for sentence in sentences:
                sentence.tags = convert(sentence.tags, "iob2", self.scheme)
            self.sentences[split] = sentences
        if self._vocab_state is not None:
            self.vocab = TaggerVocab.from_state(self._vocab_state)
            if self.vocab.scheme != self.scheme:
                raise UserError(
                    f"data.scheme: the checkpoint's model tags in {self.vocab.scheme}, not {self.scheme}"
                )
        else:
            self.vocab = TaggerVocab.train(self.sentences["train"], self.scheme, self.min_frequency,
                                           self.lowercase, max_word_chars=self.max_word_chars)  # fmt: skip
        for split, sentences in self.sentences.items():
            self.encoded[split] = self.vocab.encode(sentences, source=f"data.corpus.{split}")

    def vocab_state(self) -> dict[str, str]:
        assert self.vocab is not None, "setup() first"
        return self.vocab.to_state()

    def model_kwargs(self) -> dict[str, Any]:
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

    def tokens(self, split: str) -> list[list[str]]:
        return [s.tokens for s in self.sentences[split]]

    def _loader(self, split: str, batch_size: int, shuffle: bool) -> DataLoader:
        if split not in self._datasets:
            assert self.vocab is not None, "setup() first"
            rank, world = self.distributed_position()
            self._datasets[split] = TaggedBatches(self.encoded[split], batch_size, self.vocab.pad_id,
                                                  shuffle=shuffle, seed=self.seed, rank=rank, world=world)  # fmt: skip
        return DataLoader(self._datasets[split], batch_size=None)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", self.eval_batch_size, shuffle=False)
