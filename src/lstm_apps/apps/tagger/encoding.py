"""Tagger vocabularies (words, characters, tags) and padded batches, shared by training and predict."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from lstm_apps.core.char_features import distinct_word_chars
from lstm_apps.data.conll import TaggedSentence
from lstm_apps.errors import UserError
from lstm_apps.text.batching import LengthBucketedBatches, pad_sequences
from lstm_apps.text.tokenizer import PAD, UNK, CharTokenizer, HFWrappedTokenizer, tokenizer_from_json

EncodedSentence = tuple[list[int], list[list[int]], list[int]]  # word ids, char ids per word, tag ids


@dataclass
class TaggerVocab:
    """Word-level (HF ``tokenizers``) and character vocabularies plus the tag set and its scheme."""

    words: HFWrappedTokenizer
    chars: CharTokenizer
    tags: list[str]
    scheme: str
    max_word_chars: int = 30

    @classmethod
    def train(
        cls,
        sentences: Sequence[TaggedSentence],
        scheme: str,
        min_frequency: int = 1,
        lowercase: bool = False,
        max_vocab: int = 100_000,
        max_word_chars: int = 30,
    ) -> TaggerVocab:
        texts = [" ".join(s.tokens) for s in sentences]
        words = HFWrappedTokenizer.train_word(
            texts, max_vocab, min_frequency=min_frequency, lowercase=lowercase
        )
        chars = CharTokenizer.train(texts)
        found = {tag for s in sentences for tag in s.tags}
        tags = ["O", *sorted(found - {"O"})] if scheme != "none" else sorted(found)
        return cls(words, chars, tags, scheme, max_word_chars)

    def to_state(self) -> dict[str, str]:
        labels = {"tags": self.tags, "scheme": self.scheme, "max_word_chars": self.max_word_chars}
        return {"words": self.words.to_json(), "chars": self.chars.to_json(), "tags": json.dumps(labels)}

    @classmethod
    def from_state(cls, state: dict[str, str]) -> TaggerVocab:
        labels = json.loads(state["tags"])
        words, chars = tokenizer_from_json(state["words"]), tokenizer_from_json(state["chars"])
        assert isinstance(words, HFWrappedTokenizer) and isinstance(chars, CharTokenizer)
        return cls(words, chars, labels["tags"], labels["scheme"], labels["max_word_chars"])

    @property
    def pad_id(self) -> int:
        return self.words.token_id(PAD)

    @property
    def unk_id(self) -> int:
        return self.words.token_id(UNK)

    @property
    def word_list(self) -> list[str]:
        """Word of every embedding row (for pretrained vectors)."""
        vocab = self.words.hf.get_vocab(with_added_tokens=True)
        words = [""] * len(vocab)
        for word, index in vocab.items():
            words[index] = word
        return words

    def encode(self, sentences: Sequence[TaggedSentence], source: str = "data") -> list[EncodedSentence]:
        """Ids for every sentence; tags must belong to the tag set (``source`` names the data in errors)."""
        word_ids = [
            e.ids
            for e in self.words.hf.encode_batch(
                [s.tokens for s in sentences], is_pretokenized=True, add_special_tokens=False
            )
        ]
        tag_index = {t: i for i, t in enumerate(self.tags)}
        encoded = []
        for sentence, ids in zip(sentences, word_ids, strict=True):
            chars = [self.chars.encode(token[: self.max_word_chars]) for token in sentence.tokens]
            tags = []
            for tag in sentence.tags:
                if tag not in tag_index:
                    raise UserError(
                        f"{source}: tag {tag!r} does not occur in the training data (known: {' '.join(self.tags)})"
                    )
                tags.append(tag_index[tag])
            encoded.append((ids, chars, tags))
        return encoded


class TaggedBatches(LengthBucketedBatches):
    """Length-bucketed sentences. Each batch: ``words [B, L]``, ``lengths [B]``, the batch's
    distinct words as characters (``word_chars [U, C]``, ``word_char_lengths [U]``, and
    ``char_slots [B, L]``: each word slot's row; see ``core/char_features.py``), ``tags [B, L]``
    (0 on padding; when the sentences carry tags) and ``index [B]``."""

    def __init__(
        self,
        sentences: Sequence[EncodedSentence],
        batch_size: int,
        pad_id: int,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        super().__init__([len(s[0]) for s in sentences], batch_size, shuffle, seed, rank, world)
        self.sentences = sentences
        self.pad_id = pad_id

    def collate(self, indices: list[int]) -> dict[str, torch.Tensor]:
        chosen = [self.sentences[i] for i in indices]
        words, lengths = pad_sequences([s[0] for s in chosen], self.pad_id)
        word_chars, char_lengths, slots = distinct_word_chars([s[1] for s in chosen], words.size(1))
        batch = {
            "words": words,
            "lengths": lengths,
            "word_chars": word_chars,
            "word_char_lengths": char_lengths,
            "char_slots": slots,
            "index": torch.tensor(indices),
        }
        if all(len(s[2]) == len(s[0]) for s in chosen):
            batch["tags"] = pad_sequences([s[2] for s in chosen], 0)[0]
        return batch
