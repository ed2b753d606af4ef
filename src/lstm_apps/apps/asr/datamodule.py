"""Speech data: utterances from a manifest (or the synthesised corpus) prepared once into the
store as int16 audio and character ids, memory-mapped by every rank and batched by duration."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from functools import partial
from typing import Annotated, Any, Protocol

import numpy as np
import torch
from annotated_types import Ge

from lstm_apps.apps.asr.audio import read_audio
from lstm_apps.apps.asr.features import LogMelFeatures
from lstm_apps.apps.asr.manifest import Utterance
from lstm_apps.apps.asr.units import OutputUnits, UnitKind, UnknownChars
from lstm_apps.bounds import Positive, PositiveReal, Seed
from lstm_apps.data.prepared.sequence_arrays import SequenceArrays, TextColumn, utf8_arrays
from lstm_apps.data.prepared.store import PreparedStore
from lstm_apps.errors import UserError
from lstm_apps.pipeline.prepared_records import Columns, PreparedRecordsDataModule
from lstm_apps.text.batching import LengthBucketedBatches

# Training utterances (drawn evenly from the whole split) the feature statistics are fitted on.
STATS_UTTERANCES = 500
BpeSize = Annotated[int, Ge(300)]
"""Byte-level BPE pieces: the 256 bytes and 4 special tokens, then the merges learned."""


class SpeechSource(Protocol):
    def records(self, split: str) -> Iterator[Utterance]: ...

    def identity(self) -> dict[str, Any]: ...


def packed_audio(audio: list[np.ndarray]) -> SequenceArrays:
    """Utterances' int16 samples as one flat array plus offsets (what the store and batches hold)."""
    offsets = np.zeros(len(audio) + 1, dtype=np.int64)
    np.cumsum([len(a) for a in audio], out=offsets[1:])
    return SequenceArrays(np.concatenate(audio), offsets)


class SpeechBatches(LengthBucketedBatches):
    """Utterances bucketed by duration. Each batch: ``audio [B, S]`` int16 (converted on the
    device), ``audio_lengths [B]``, ``labels [B, U]`` and ``label_lengths [B]`` (when the
    utterances have transcripts), ``index [B]``."""

    def __init__(
        self,
        audio: SequenceArrays,
        labels: SequenceArrays | None,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        max_samples: int | None = None,
    ) -> None:
        super().__init__(audio.lengths, batch_size, shuffle, seed, rank, world, max_tokens=max_samples)
        self.audio, self.labels = audio, labels

    def collate(self, indices: list[int]) -> dict[str, torch.Tensor]:
        lengths = self.audio.lengths[indices]
        audio = np.zeros((len(indices), int(lengths.max())), dtype=np.int16)
        for row, index in enumerate(indices):  # a copy per utterance of contiguous samples
            audio[row, : lengths[row]] = self.audio[index]
        batch = {
            "audio": torch.from_numpy(audio),
            "audio_lengths": torch.from_numpy(lengths.astype(np.int64)),
            "index": torch.tensor(indices, dtype=torch.long),
        }
        if self.labels is not None:
            batch["labels"], batch["label_lengths"] = self.labels.padded(indices, 0)
        return batch


class SpeechDataModule(PreparedRecordsDataModule):
    """``sample_rate``, ``n_mels``, ``window_ms`` and ``hop_ms`` define the features the model
    computes (handed to it with the normalisation statistics fitted on the training audio).
    ``batch_size`` counts utterances per device; ``max_seconds`` (optional) fills training batches
    up to that many seconds of padded audio instead, ``batch_size`` still capping the rows.
    ``units``: what the model outputs, ``chars`` or byte-level ``bpe`` pieces (``vocab_size`` of
    them) learned on the training transcripts; ``lowercase`` and ``unknown_chars`` shape the
    transcripts (see ``OutputUnits``)."""

    store_name = "asr"
    chunk_records = 500  # utterances read (audio held in memory) at a time while preparing

    def __init__(
        self,
        corpus: SpeechSource,
        sample_rate: Positive = 16_000,
        n_mels: Positive = 80,
        window_ms: PositiveReal = 25.0,
        hop_ms: PositiveReal = 10.0,
        units: UnitKind = "chars",
        vocab_size: BpeSize = 500,
        lowercase: bool = True,
        unknown_chars: UnknownChars = "error",
        batch_size: Positive = 32,
        eval_batch_size: Positive = 64,
        max_seconds: PositiveReal | None = None,
        seed: Seed = 0,
        prepared_dir: str | None = None,
    ) -> None:
        super().__init__(corpus, prepared_dir)
        self.corpus = corpus
        self.sample_rate, self.n_mels = sample_rate, n_mels
        self.window_ms, self.hop_ms = window_ms, hop_ms
        self.units, self.vocab_size = units, vocab_size
        self.lowercase, self.unknown_chars = lowercase, unknown_chars
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.max_seconds, self.seed = max_seconds, seed
        self.output_units: OutputUnits | None = None
        self.statistics: dict[str, list[float]] = {}
        self.audio: dict[str, SequenceArrays] = {}
        self.labels: dict[str, SequenceArrays] = {}
        self.texts: dict[str, TextColumn] = {}
        self.sources: dict[str, TextColumn] = {}

    @property
    def max_tokens(self) -> int | None:  # type: ignore[override]
        return round(self.max_seconds * self.sample_rate) if self.max_seconds else None

    def store_settings(self, fitted: bool) -> dict[str, Any]:
        audio = {"sample_rate": self.sample_rate}
        if fitted:
            return audio
        features = {"n_mels": self.n_mels, "window_ms": self.window_ms, "hop_ms": self.hop_ms}
        text = {"units": self.units, "lowercase": self.lowercase, "unknown_chars": self.unknown_chars}
        return {
            **audio,
            **features,
            **text,
            **({"vocab_size": self.vocab_size} if self.units == "bpe" else {}),
        }

    def features(self) -> LogMelFeatures:
        return LogMelFeatures(self.sample_rate, self.n_mels, self.window_ms, self.hop_ms)

    def fit_vocabularies(self) -> dict[str, str]:
        """The output units of the training transcripts, and per-mel-bin mean and deviation of the
        log-mel features of ``STATS_UTTERANCES`` training utterances spread over the split."""
        sample: list[Utterance] = []
        rng = random.Random(self.seed)

        def texts() -> Iterator[str]:
            for seen, utterance in enumerate(self.records("train")):
                if len(sample) < STATS_UTTERANCES:  # reservoir sampling: memory does not grow with the split
                    sample.append(utterance)
                elif (slot := rng.randrange(seen + 1)) < STATS_UTTERANCES:
                    sample[slot] = utterance
                yield utterance.text

        units = OutputUnits.fit(texts(), self.units, self.vocab_size, self.lowercase, self.unknown_chars)
        if not sample:
            raise UserError("data.corpus.train: the training manifest lists no utterances")
        features = self.features()
        total = torch.zeros(self.n_mels, dtype=torch.float64)
        squares = torch.zeros(self.n_mels, dtype=torch.float64)
        frames = 0
        for utterance in sample:
            audio = read_audio(utterance.audio, self.sample_rate, utterance.where)
            with torch.no_grad():
                mel = features(torch.from_numpy(audio).unsqueeze(0))[0].double()
            total += mel.sum(0)
            squares += mel.square().sum(0)
            frames += mel.size(0)
        mean = total / frames
        std = (squares / frames - mean.square()).clamp(min=1e-10).sqrt()
        statistics = {"mean": mean.tolist(), "std": std.clamp(min=1e-3).tolist()}
        return {**units.to_state(), "features": json.dumps(statistics)}

    def use_vocabularies(self, fitted: dict[str, str]) -> None:
        self.output_units = OutputUnits.from_state(fitted, self.lowercase, self.unknown_chars)
        self.statistics = json.loads(fitted["features"])

    def encode_records(self, split: str, records: list[Utterance]) -> Columns:
        units = self.output_units
        assert units is not None, "use_vocabularies() first"
        audio = [read_audio(u.audio, self.sample_rate, u.where) for u in records]
        labels = [units.encode(u.text, u.where) for u in records]
        return {
            "audio": packed_audio(audio),
            "labels": SequenceArrays.from_lists(labels, len(units.units)),
            "text": utf8_arrays(units.normalise(u.text) for u in records),
            "source": utf8_arrays(str(u.audio) for u in records),
        }

    def open_columns(self, store: PreparedStore) -> None:
        self.use_vocabularies(store.fitted)
        for split in self.split_names("audio"):
            self.audio[split] = self.column(split, "audio")
            self.labels[split] = self.column(split, "labels")
            self.texts[split] = TextColumn(self.column(split, "text"))
            self.sources[split] = TextColumn(self.column(split, "source"))

    def fitted_state(self) -> dict[str, str]:
        assert self.store is not None, "setup() first"
        return self.store.fitted

    def handoff(self) -> dict[str, Any]:
        assert self.output_units is not None, "setup() first"
        return {
            "units": self.output_units.units,
            "sample_rate": self.sample_rate,
            "n_mels": self.n_mels,
            "window_ms": self.window_ms,
            "hop_ms": self.hop_ms,
            "feature_mean": self.statistics["mean"],
            "feature_std": self.statistics["std"],
        }

    def unit_sequences(self, split: str) -> SequenceArrays:
        """The unit ids of every transcript of ``split`` (what a unit LM is counted on)."""
        return self.labels[split]

    def language_model_sequences(self) -> Iterator[list[int]]:
        """What the transcripts' unit LM is counted on: the corpus's own LM text where it has one
        (``language_model_texts``: text never spoken in validation or test, far more than the
        transcripts), else the training transcripts."""
        own = getattr(self.corpus, "language_model_texts", lambda: None)()
        if own is None:
            sequences = self.unit_sequences("train")
            return (sequences[i].tolist() for i in range(len(sequences)))
        assert self.output_units is not None, "setup() first"
        encode = partial(self.output_units.encode, where="the corpus's LM text", unknown="drop")
        return (encode(text) for text in own)

    def references(self, split: str) -> TextColumn:
        """The transcripts of ``split`` in dataset order, as the model should write them."""
        return self.texts[split]

    def example_input(self, split: str, index: int) -> str:
        """The audio file of utterance ``index`` of ``split``."""
        return self.sources[split][index]

    def make_batches(
        self, split: str, batch_size: int, shuffle: bool, rank: int, world: int
    ) -> SpeechBatches:
        return SpeechBatches(
            self.audio[split],
            self.labels[split],
            batch_size,
            shuffle=shuffle,
            seed=self.seed,
            rank=rank,
            world=world,
            max_samples=self.token_budget(shuffle),
        )
