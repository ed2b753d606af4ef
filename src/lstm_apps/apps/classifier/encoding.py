"""Classifier vocabularies (tokenizer + label set) and padded batches, shared by training and predict."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from lstm_apps.data.labelled_text import LabelledText
from lstm_apps.errors import UserError
from lstm_apps.text.batching import LengthBucketedBatches, pad_sequences
from lstm_apps.text.tokenizer import PAD, UNK, Tokenizer, tokenizer_from_json, train_tokenizer

EncodedText = tuple[list[int], list[int]]  # token ids, label ids


@dataclass
class ClassifierVocab:
    """The tokenizer trained on the train split, the label set and how texts are cut."""

    tokenizer: Tokenizer
    labels: list[str]
    multi_label: bool
    max_tokens: int

    @classmethod
    def train(
        cls,
        train: Sequence[LabelledText],
        kind: str,
        vocab_size: int,
        min_frequency: int,
        lowercase: bool,
        multi_label: bool,
        max_tokens: int,
    ) -> ClassifierVocab:
        tokenizer = train_tokenizer(
            kind, [e.text for e in train], vocab_size, min_frequency, lowercase, split_punctuation=True
        )
        labels = sorted({label for e in train for label in e.labels})
        if len(labels) < 2:
            raise UserError(f"data.corpus.train: needs at least two labels, found {labels}")
        if not multi_label:
            several = next((e for e in train if len(e.labels) > 1), None)
            if several is not None:
                raise UserError(f"{several.where}: {len(several.labels)} labels; set data.multi_label=true")
        return cls(tokenizer, labels, multi_label, max_tokens)

    def to_state(self) -> dict[str, str]:
        labels = {"labels": self.labels, "multi_label": self.multi_label, "max_tokens": self.max_tokens}
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
        """At most ``max_tokens`` ids per text, never none (an empty text reads as ``<unk>``)."""
        unk = self.tokenizer.token_id(UNK)
        return [ids[: self.max_tokens] or [unk] for ids in self.tokenizer.encode_batch(texts)]

    def encode(self, examples: Sequence[LabelledText], with_labels: bool = True) -> list[EncodedText]:
        """Ids for every example; a label outside the training label set is an error naming its line."""
        index = {label: i for i, label in enumerate(self.labels)}
        encoded = []
        for example, ids in zip(examples, self.token_ids([e.text for e in examples]), strict=True):
            label_ids = []
            for label in example.labels if with_labels else []:
                if label not in index:
                    raise UserError(
                        f"{example.where}: label {label!r} does not occur in the training data "
                        f"(known: {' '.join(self.labels)})"
                    )
                label_ids.append(index[label])
            encoded.append((ids, label_ids))
        return encoded


class LabelledBatches(LengthBucketedBatches):
    """Length-bucketed texts. Each batch: ``tokens [B, L]``, ``lengths [B]``, ``index [B]`` and,
    when the texts carry labels, ``labels``: class ids ``[B]`` or multi-hot ``[B, C]`` floats."""

    def __init__(
        self,
        texts: Sequence[EncodedText],
        batch_size: int,
        pad_id: int,
        num_labels: int,
        multi_label: bool,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        super().__init__([len(t[0]) for t in texts], batch_size, shuffle, seed, rank, world)
        self.texts = texts
        self.pad_id, self.num_labels, self.multi_label = pad_id, num_labels, multi_label

    def collate(self, indices: list[int]) -> dict[str, torch.Tensor]:
        chosen = [self.texts[i] for i in indices]
        tokens, lengths = pad_sequences([t[0] for t in chosen], self.pad_id)
        batch = {"tokens": tokens, "lengths": lengths, "index": torch.tensor(indices)}
        if all(t[1] for t in chosen):
            if self.multi_label:
                labels = torch.zeros(len(chosen), self.num_labels)
                for row, (_, ids) in enumerate(chosen):
                    labels[row, ids] = 1.0
                batch["labels"] = labels
            else:
                batch["labels"] = torch.tensor([t[1][0] for t in chosen])
        return batch
