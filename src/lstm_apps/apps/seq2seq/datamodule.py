"""Seq2seq data: parallel text, tokenizers trained on the train split, length-bucketed batches."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from lstm_apps.pipeline.app_datamodule import BucketedDataModule
from lstm_apps.text.batching import BucketedPairBatches
from lstm_apps.text.sequence_arrays import SequenceArrays, encode_packed
from lstm_apps.text.tokenizer import BOS, EOS, PAD, Tokenizer, fitted, tokenizer_from_json, train_tokenizer

Pairs = list[tuple[str, str]]


class ParallelSource(Protocol):
    def load(self) -> dict[str, Pairs]: ...


class ParallelDataModule(BucketedDataModule):
    """``tokenizer``: char | word | bpe; ``shared_vocab``: one tokenizer for both sides.

    ``batch_size`` counts sentence pairs per device; ``max_tokens`` (optional) fills training
    batches up to that many padded tokens instead (the longer side of a pair counts),
    ``batch_size`` still capping the rows. Training pairs longer than
    ``max_source_len``/``max_target_len`` tokens are dropped (evaluation keeps everything).
    Token ids are held as flat arrays (``SequenceArrays``), not a list per sentence.
    """

    def __init__(
        self,
        corpus: ParallelSource,
        tokenizer: str = "char",
        shared_vocab: bool = False,
        vocab_size: int = 8000,
        min_frequency: int = 1,
        lowercase: bool = False,
        batch_size: int = 64,
        eval_batch_size: int = 128,
        max_source_len: int = 200,
        max_target_len: int = 200,
        seed: int = 0,
        max_tokens: int | None = None,
    ) -> None:
        super().__init__(source=corpus)
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
        self.texts: dict[str, Pairs] = {}
        self.encoded: dict[str, tuple[SequenceArrays, SequenceArrays]] = {}

    def _train(self, texts: list[str]) -> Tokenizer:
        return train_tokenizer(
            self.tokenizer_kind, texts, self.vocab_size, self.min_frequency, self.lowercase
        )

    def setup(self, stage: str | None = None) -> None:
        if self.encoded:
            return
        self.texts = self.corpus.load()
        if self._fitted_state is not None:
            self.src_tokenizer = tokenizer_from_json(self._fitted_state["source"])
            self.tgt_tokenizer = tokenizer_from_json(self._fitted_state["target"])
        else:
            sources = [s for s, _ in self.texts["train"]]
            targets = [t for _, t in self.texts["train"]]
            if self.shared_vocab:
                self.src_tokenizer = self.tgt_tokenizer = self._train(sources + targets)
            else:
                self.src_tokenizer, self.tgt_tokenizer = self._train(sources), self._train(targets)
        for split, pairs in self.texts.items():
            self.encoded[split] = self._encode(split, pairs)

    def _encode(self, split: str, pairs: Pairs) -> tuple[SequenceArrays, SequenceArrays]:
        """Both sides of ``pairs`` as packed ids; training pairs too long (or empty) are dropped,
        from ``texts`` too, so that positions keep matching."""
        sources = encode_packed(self._source_tokenizer(), [s for s, _ in pairs])
        targets = encode_packed(self._target_tokenizer(), [t for _, t in pairs])
        if split == "train":
            s, t = sources.lengths, targets.lengths
            keep = np.flatnonzero((s > 0) & (s <= self.max_source_len) & (t > 0) & (t <= self.max_target_len))
            if len(keep) < len(pairs):
                sources, targets = sources.select(keep), targets.select(keep)
                self.texts[split] = [pairs[i] for i in keep.tolist()]
        return sources, targets

    def _source_tokenizer(self) -> Tokenizer:
        return fitted(self.src_tokenizer, "setup()")

    def _target_tokenizer(self) -> Tokenizer:
        return fitted(self.tgt_tokenizer, "setup()")

    def fitted_state(self) -> dict[str, str]:
        return {"source": self._source_tokenizer().to_json(), "target": self._target_tokenizer().to_json()}

    def handoff(self) -> dict[str, Any]:
        tgt = self._target_tokenizer()
        return {
            "src_vocab_size": self._source_tokenizer().vocab_size,
            "tgt_vocab_size": tgt.vocab_size,
            "pad_id": tgt.token_id(PAD),
            "bos_id": tgt.token_id(BOS),
            "eos_id": tgt.token_id(EOS),
        }

    def references(self, split: str) -> list[str]:
        """Target strings of ``split`` in dataset order (batches carry their ``index``)."""
        return [t for _, t in self.texts[split]]

    def example_input(self, split: str, index: int) -> str:
        """The source sentence of pair ``index`` of ``split``."""
        return self.texts[split][index][0]

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
