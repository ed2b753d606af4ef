"""Classifier vocabularies (tokenizer + label set) and padded batches, shared by training and predict."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import torch

from lstm_apps.apps.classifier.labelled_text import LabelledText
from lstm_apps.data.prepared.sequence_arrays import SequenceArrays
from lstm_apps.errors import UserError
from lstm_apps.text.batching import LengthBucketedBatches
from lstm_apps.text.tokenizer import PAD, UNK, Tokenizer, tokenizer_from_json, train_tokenizer


@dataclass
class EncodedTexts:
    """Texts as flat arrays: ``tokens`` (token ids per text) and ``labels`` (label ids per text,
    none when unlabelled)."""

    tokens: SequenceArrays
    labels: SequenceArrays

    def __len__(self) -> int:
        return len(self.tokens)


@dataclass
class ClassifierVocab:
    """The tokenizer trained on the train split, the label set and how texts are cut
    (``max_text_len`` tokens; stored as ``max_tokens`` in checkpoints)."""

    tokenizer: Tokenizer
    labels: list[str]
    multi_label: bool
    max_text_len: int

    @classmethod
    def train(
        cls,
        train: Iterable[LabelledText],
        kind: str,
        vocab_size: int,
        min_frequency: int,
        lowercase: bool,
        multi_label: bool,
        max_text_len: int,
        adopted: dict[str, str] | None = None,
    ) -> ClassifierVocab:
        """The tokenizer and label set from one pass over ``train`` (which may be streamed): the
        tokenizer pulls the texts while the labels are collected and checked on the way.
        ``adopted`` parts (``tokenizer``, ``labels``: a checkpoint's) are taken, not fitted."""
        adopted = adopted or {}
        found: set[str] = set()

        def texts() -> Iterator[str]:
            for example in train:
                if not multi_label and len(example.labels) > 1:
                    raise UserError(
                        f"{example.where}: {len(example.labels)} labels; set data.multi_label=true"
                    )
                found.update(example.labels)
                yield example.text

        if "tokenizer" in adopted:
            tokenizer = tokenizer_from_json(adopted["tokenizer"])
            for _ in texts():  # the labels are still collected
                pass
        else:
            tokenizer = train_tokenizer(
                kind, texts(), vocab_size, min_frequency, lowercase, word_split="punctuation"
            )
        if "labels" in adopted:
            kept = cls.from_state({"tokenizer": tokenizer.to_json(), "labels": adopted["labels"]})
            return cls(tokenizer, kept.labels, kept.multi_label, max_text_len)
        labels = sorted(found)
        if len(labels) < 2:
            raise UserError(f"data.corpus.train: needs at least two labels, found {labels}")
        return cls(tokenizer, labels, multi_label, max_text_len)

    def to_state(self) -> dict[str, str]:
        labels = {"labels": self.labels, "multi_label": self.multi_label, "max_tokens": self.max_text_len}
        return {"tokenizer": self.tokenizer.to_json(), "labels": json.dumps(labels)}

    @classmethod
    def from_state(cls, state: dict[str, str]) -> ClassifierVocab:
        labels = json.loads(state["labels"])
        return cls(
            tokenizer_from_json(state["tokenizer"]),
            labels["labels"],
            labels["multi_label"],
            labels["max_tokens"],
        )

    @property
    def pad_id(self) -> int:
        return self.tokenizer.token_id(PAD)

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """At most ``max_text_len`` ids per text, never none (an empty text reads as ``<unk>``)."""
        unk = self.tokenizer.token_id(UNK)
        return [ids[: self.max_text_len] or [unk] for ids in self.tokenizer.encode_batch(texts)]

    def encode(
        self, examples: Sequence[LabelledText], with_labels: bool = True, chunk: int = 10_000
    ) -> EncodedTexts:
        """Ids for every example, packed ``chunk`` examples at a time; a label outside the
        training label set is an error naming its line."""
        index = {label: i for i, label in enumerate(self.labels)}
        tokens, labels = [], []
        for start in range(0, len(examples), chunk):
            part = examples[start : start + chunk]
            tokens.append(self.token_ids([e.text for e in part]))
            for example in part if with_labels else []:
                unknown = next((label for label in example.labels if label not in index), None)
                if unknown is not None:
                    raise UserError(
                        f"{example.where}: label {unknown!r} does not occur in the training data "
                        f"(known: {' '.join(self.labels)})"
                    )
            labels.append([[index[label] for label in e.labels] if with_labels else [] for e in part])
        return EncodedTexts(
            SequenceArrays.from_chunks(tokens, self.tokenizer.vocab_size),
            SequenceArrays.from_chunks(labels, len(self.labels)),
        )


class LabelledBatches(LengthBucketedBatches):
    """Length-bucketed texts. Each batch: ``tokens [B, L]``, ``lengths [B]``, ``index [B]`` and,
    when the texts carry labels, ``labels``: class ids ``[B]`` or multi-hot ``[B, C]`` floats."""

    def __init__(
        self,
        texts: EncodedTexts,
        batch_size: int,
        pad_id: int,
        num_labels: int,
        multi_label: bool,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        max_tokens: int | None = None,
    ) -> None:
        super().__init__(texts.tokens.lengths, batch_size, shuffle, seed, rank, world, max_tokens=max_tokens)
        self.texts = texts
        self.pad_id, self.num_labels, self.multi_label = pad_id, num_labels, multi_label

    def collate(self, indices: list[int]) -> dict[str, torch.Tensor]:
        tokens, lengths = self.texts.tokens.padded(indices, self.pad_id)
        batch = {"tokens": tokens, "lengths": lengths, "index": torch.tensor(indices, dtype=torch.long)}
        label_ids, counts = self.texts.labels.padded(indices, -1)
        if bool((counts > 0).all()):
            if self.multi_label:
                labels = torch.zeros(len(indices), self.num_labels + 1)
                labels.scatter_(1, torch.where(label_ids < 0, self.num_labels, label_ids), 1.0)
                batch["labels"] = labels[:, : self.num_labels]
            else:
                batch["labels"] = label_ids[:, 0]
        return batch
