"""Tokenizers that train on the train split and travel inside checkpoints as JSON.

``char`` is our own (tiny, exact round trip); ``bpe`` and ``word`` wrap HF ``tokenizers``, which
does the heavy lifting torchtext used to do. Every kind serialises to a JSON string, never pickle.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Literal, Protocol

from tokenizers import Regex, decoders, models, normalizers, pre_tokenizers, trainers
from tokenizers import Tokenizer as HFTokenizer

from lstm_apps.errors import UserError

UNK = "<unk>"
PAD = "<pad>"
BOS = "<s>"
EOS = "</s>"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS)
# How the word tokenizer cuts text: ``whitespace`` (pre-tokenized input), ``punctuation`` (also
# between word characters and punctuation: ``"loop."`` -> ``loop .``), or ``reversible`` (as
# ``punctuation``, but every word remembers whether a space came before it, so decoding gives
# back the original text: what a model whose output is scored on detokenized text needs).
WordSplit = Literal["whitespace", "punctuation", "reversible"]
SPACE_MARK = "\u2581"  # SentencePiece's "lower one eighth block": a space before the word


class Tokenizer(Protocol):
    """What the apps need from a tokenizer."""

    kind: str

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def encode_batch(self, texts: list[str]) -> list[list[int]]: ...

    def decode(self, ids: Iterable[int]) -> str: ...

    def token_id(self, token: str) -> int: ...

    def to_json(self) -> str: ...


class CharTokenizer:
    """One id per character seen in training; unseen characters map to ``<unk>``."""

    kind = "char"

    def __init__(self, symbols: list[str]) -> None:
        self.symbols = list(symbols)
        self._index = {s: i for i, s in enumerate(self.symbols)}
        self._unk = self._index[UNK]
        self._specials = set(SPECIAL_TOKENS)

    @classmethod
    def train(cls, texts: Iterable[str], min_frequency: int = 1) -> CharTokenizer:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(text)
        return cls.from_symbols(sorted(c for c, n in counts.items() if n >= min_frequency))

    @classmethod
    def from_symbols(cls, chars: list[str]) -> CharTokenizer:
        """The special tokens, then ``chars`` in the order given."""
        return cls(list(SPECIAL_TOKENS) + chars)

    @property
    def vocab_size(self) -> int:
        return len(self.symbols)

    def encode(self, text: str) -> list[int]:
        index, unk = self._index, self._unk
        return [index.get(c, unk) for c in text]

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def decode(self, ids: Iterable[int]) -> str:
        symbols, specials = self.symbols, self._specials
        return "".join(s for s in (symbols[int(i)] for i in ids) if s not in specials or s == UNK)

    def token_id(self, token: str) -> int:
        return self._index[token]

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "symbols": self.symbols})


class HFWrappedTokenizer:
    """A trained HF ``tokenizers`` model (byte-level BPE or word level)."""

    def __init__(self, kind: str, hf: HFTokenizer) -> None:
        self.kind = kind
        self.hf = hf

    @classmethod
    def train_bpe(
        cls, texts: Iterable[str], vocab_size: int, min_frequency: int = 2, lowercase: bool = False
    ) -> HFWrappedTokenizer:
        """Byte-level BPE: no unknown tokens and an exact round trip of whitespace (of the
        lowercased text with ``lowercase``)."""
        hf = HFTokenizer(models.BPE())
        if lowercase:
            hf.normalizer = normalizers.Lowercase()
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        hf.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=list(SPECIAL_TOKENS),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        hf.train_from_iterator(texts, trainer=trainer)
        return cls("bpe", hf)

    @classmethod
    def train_word(
        cls,
        texts: Iterable[str],
        vocab_size: int,
        min_frequency: int = 1,
        lowercase: bool = False,
        split: WordSplit = "whitespace",
    ) -> HFWrappedTokenizer:
        """Word level with ``<unk>``: what classic seq2seq/tagging use (``split``: see
        ``WordSplit``)."""
        hf = HFTokenizer(models.WordLevel(unk_token=UNK))
        _word_split(hf, split, lowercase)
        trainer = trainers.WordLevelTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=list(SPECIAL_TOKENS),
            show_progress=False,
        )
        hf.train_from_iterator(texts, trainer=trainer)
        return cls("word", hf)

    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.hf.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: Iterable[int]) -> str:
        return self.hf.decode([int(i) for i in ids], skip_special_tokens=True)

    def token_id(self, token: str) -> int:
        found = self.hf.token_to_id(token)
        if found is None:
            raise KeyError(token)
        return found

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "hf": json.loads(self.hf.to_str())})

    def id_words(self) -> list[str]:
        """The vocabulary entry of every id (what pretrained word vectors are looked up by)."""
        vocab = self.hf.get_vocab(with_added_tokens=True)
        words = [""] * len(vocab)
        for word, index in vocab.items():
            words[index] = word
        return words

    @property
    def reversible_words(self) -> bool:
        """Word level with the ``reversible`` split: its pieces carry their spacing."""
        return self.kind == "word" and isinstance(self.hf.decoder, decoders.Metaspace)

    def join_pieces(self, pieces: list[str]) -> str:
        """Vocabulary pieces (``self.hf.id_to_token``, or any string in the same notation) as text."""
        decoder = self.hf.decoder
        return str(decoder.decode(pieces)) if decoder is not None else " ".join(pieces)


def train_tokenizer(
    kind: str,
    texts: Iterable[str],
    vocab_size: int = 8000,
    min_frequency: int = 1,
    lowercase: bool = False,
    word_split: WordSplit = "whitespace",
) -> Tokenizer:
    """Train a tokenizer of ``kind`` (``char``, ``bpe`` or ``word``) on ``texts``."""
    if kind == "char":
        return CharTokenizer.train(texts, min_frequency=min_frequency)
    if kind == "bpe":
        return HFWrappedTokenizer.train_bpe(
            texts, vocab_size=vocab_size, min_frequency=max(min_frequency, 2), lowercase=lowercase
        )
    if kind == "word":
        return HFWrappedTokenizer.train_word(
            texts,
            vocab_size,
            min_frequency=min_frequency,
            lowercase=lowercase,
            split=word_split,
        )
    raise UserError(f"tokenizer kind must be one of char, bpe, word; got {kind!r}")


def _word_split(hf: HFTokenizer, split: WordSplit, lowercase: bool) -> None:
    """Set ``hf``'s normalizer, pre-tokenizer and decoder for ``split``."""
    steps: list[normalizers.Normalizer] = []
    if split == "reversible":  # runs of whitespace are one space: the round trip is exact up to them
        steps += [normalizers.Strip(), normalizers.Replace(Regex(r"\s+"), " ")]
    if lowercase:
        steps.append(normalizers.Lowercase())
    if steps:
        hf.normalizer = normalizers.Sequence(steps)
    if split == "reversible":
        hf.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Metaspace(replacement=SPACE_MARK, prepend_scheme="always"),
                pre_tokenizers.Punctuation(behavior="isolated"),
            ]
        )
        hf.decoder = decoders.Metaspace(replacement=SPACE_MARK, prepend_scheme="always")
        return
    if split == "punctuation":
        hf.pre_tokenizer = pre_tokenizers.Whitespace()
    elif split == "whitespace":
        hf.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    else:
        raise UserError(f"word split must be one of whitespace, punctuation, reversible; got {split!r}")
    hf.decoder = decoders.WordPiece(prefix="##")  # joins tokens with single spaces


def fitted(tokenizer: Tokenizer | None, first: str) -> Tokenizer:
    """``tokenizer`` where it must be set; unset, a ``RuntimeError`` naming the call that sets it."""
    if tokenizer is None:
        raise RuntimeError(f"no tokenizer yet; {first} first")
    return tokenizer


def token_pieces(tokenizer: Tokenizer, ids: list[int]) -> list[str]:
    """The text each of ``ids`` stands for, such that the pieces joined are the decoded text where
    the tokenizer allows (a word-level tokenizer's words get the space it puts between them)."""
    pieces = [tokenizer.decode([i]) for i in ids]
    whole = tokenizer.decode(ids)
    if "".join(pieces) != whole and " ".join(pieces) == whole:
        pieces = [piece + " " for piece in pieces[:-1]] + pieces[-1:]
    return pieces


def tokenizer_from_json(text: str) -> Tokenizer:
    """Rebuild any tokenizer from the JSON its ``to_json`` wrote."""
    payload = json.loads(text)
    kind = payload.get("kind")
    if kind == "char":
        return CharTokenizer(payload["symbols"])
    if kind in ("bpe", "word"):
        return HFWrappedTokenizer(kind, HFTokenizer.from_str(json.dumps(payload["hf"])))
    raise UserError(f"unknown tokenizer kind in JSON: {kind!r}")
