"""Tagger vocabularies (words, characters, tags) and padded batches, shared by training and predict."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lstm_apps.apps.tagger.conll import TaggedSentence
from lstm_apps.core.char_features import distinct_word_chars
from lstm_apps.data.prepared.sequence_arrays import SequenceArrays
from lstm_apps.errors import UserError
from lstm_apps.text.batching import LengthBucketedBatches
from lstm_apps.text.tokenizer import PAD, UNK, CharTokenizer, HFWrappedTokenizer, tokenizer_from_json


@dataclass
class EncodedSentences:
    """Sentences as flat arrays: ``words`` (word ids per sentence), ``tags`` (tag ids per sentence,
    none when unlabelled) and ``chars`` (character ids per token, all sentences' tokens in a row;
    sentence ``i``'s tokens are ``token_offsets[i] : token_offsets[i + 1]``)."""

    words: SequenceArrays
    tags: SequenceArrays
    chars: SequenceArrays
    token_offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.words)

    def token_chars(self, sentence: int) -> list[list[int]]:
        """The character ids of each token of ``sentence``."""
        first, last = int(self.token_offsets[sentence]), int(self.token_offsets[sentence + 1])
        bounds = self.chars.offsets[first : last + 1]
        flat = self.chars.ids[bounds[0] : bounds[-1]].tolist()
        cuts = (bounds - bounds[0]).tolist()
        return [flat[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


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
        sentences: Iterable[TaggedSentence],
        scheme: str,
        min_frequency: int = 1,
        lowercase: bool = False,
        max_vocab: int = 100_000,
        max_word_chars: int = 30,
        adopted: dict[str, str] | None = None,
    ) -> TaggerVocab:
        """All three vocabularies from one pass over ``sentences`` (which may be streamed): the
        word tokenizer pulls the texts while their characters and tags are counted on the way.
        ``adopted`` parts (``words``, ``chars``, ``tags``: a checkpoint's) are taken, not fitted."""
        adopted = adopted or {}
        char_counts: Counter[str] = Counter()
        found: set[str] = set()

        def texts() -> Iterator[str]:
            for sentence in sentences:
                text = " ".join(sentence.tokens)
                char_counts.update(text)
                found.update(sentence.tags)
                yield text

        if "words" in adopted:
            words = whole_word_tokenizer(adopted["words"])
            for _ in texts():  # characters and tags are still counted
                pass
        else:
            words = HFWrappedTokenizer.train_word(
                texts(), max_vocab, min_frequency=min_frequency, lowercase=lowercase
            )
        chars = CharTokenizer.from_symbols(sorted(char_counts))
        tags = ["O", *sorted(found - {"O"})] if scheme != "none" else sorted(found)
        if "chars" in adopted:
            kept_chars = tokenizer_from_json(adopted["chars"])
            assert isinstance(kept_chars, CharTokenizer)
            chars = kept_chars
        if "tags" in adopted:
            kept = json.loads(adopted["tags"])
            if kept["scheme"] != scheme:
                raise UserError(f"data.scheme: the checkpoint's model tags in {kept['scheme']}, not {scheme}")
            tags = kept["tags"]
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
        return self.words.id_words()

    def encode(
        self, sentences: Sequence[TaggedSentence], source: str = "data", chunk: int = 10_000
    ) -> EncodedSentences:
        """Ids for every sentence, packed ``chunk`` sentences at a time; tags must belong to the
        tag set (``source`` names the data in errors)."""
        tag_index = {t: i for i, t in enumerate(self.tags)}
        words, tags, chars = [], [], []
        for start in range(0, len(sentences), chunk):
            part = sentences[start : start + chunk]
            encodings = self.words.hf.encode_batch(
                [s.tokens for s in part], is_pretokenized=True, add_special_tokens=False
            )
            words.append([e.ids for e in encodings])
            chars.append(
                [self.chars.encode(token[: self.max_word_chars]) for s in part for token in s.tokens]
            )
            unknown = next((t for s in part for t in s.tags if t not in tag_index), None)
            if unknown is not None:
                raise UserError(
                    f"{source}: tag {unknown!r} does not occur in the training data (known: {' '.join(self.tags)})"
                )
            tags.append([[tag_index[t] for t in s.tags] for s in part])
        token_offsets = np.zeros(len(sentences) + 1, dtype=np.int64)
        np.cumsum([len(s.tokens) for s in sentences], out=token_offsets[1:])
        return EncodedSentences(
            SequenceArrays.from_chunks(words, self.words.vocab_size),
            SequenceArrays.from_chunks(tags, len(self.tags)),
            SequenceArrays.from_chunks(chars, self.chars.vocab_size),
            token_offsets,
        )


def whole_word_tokenizer(text: str) -> HFWrappedTokenizer:
    """A tokenizer from JSON that gives one id per word of a tokenized sentence (what the tagger
    reads): word level, cut at whitespace only; anything else is one line saying what to train."""
    tokenizer = tokenizer_from_json(text)
    if not isinstance(tokenizer, HFWrappedTokenizer) or tokenizer.kind != "word":
        raise UserError(
            f"init_from: the tagger reads whole words, and this tokenizer is {tokenizer.kind}; train "
            "the language model with data.tokenizer=word data.word_split=whitespace"
        )
    split = type(tokenizer.hf.pre_tokenizer).__name__
    if split != "WhitespaceSplit":
        raise UserError(
            f"init_from: the tagger reads whole words, and this word tokenizer also cuts inside them "
            f"({split}); train the language model with data.word_split=whitespace"
        )
    return tokenizer


class TaggedBatches(LengthBucketedBatches):
    """Length-bucketed sentences. Each batch: ``words [B, L]``, ``lengths [B]``, the batch's
    distinct words as characters (``word_chars [U, C]``, ``word_char_lengths [U]``, and
    ``char_slots [B, L]``: each word slot's row; see ``core/char_features.py``), ``tags [B, L]``
    (0 on padding; when the sentences carry tags) and ``index [B]``."""

    def __init__(
        self,
        sentences: EncodedSentences,
        batch_size: int,
        pad_id: int,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        max_tokens: int | None = None,
    ) -> None:
        super().__init__(
            sentences.words.lengths, batch_size, shuffle, seed, rank, world, max_tokens=max_tokens
        )
        self.sentences = sentences
        self.pad_id = pad_id

    def collate(self, indices: list[int]) -> dict[str, torch.Tensor]:
        words, lengths = self.sentences.words.padded(indices, self.pad_id)
        token_chars = [self.sentences.token_chars(i) for i in indices]
        word_chars, char_lengths, slots = distinct_word_chars(token_chars, words.size(1))
        batch = {
            "words": words,
            "lengths": lengths,
            "word_chars": word_chars,
            "word_char_lengths": char_lengths,
            "char_slots": slots,
            "index": torch.tensor(indices),
        }
        tags, tag_lengths = self.sentences.tags.padded(indices, 0)
        if torch.equal(tag_lengths, lengths):
            batch["tags"] = tags
        return batch
