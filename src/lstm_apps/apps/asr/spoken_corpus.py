"""The embedded speech task: utterances of a generated grammar (``grammar.py``) spoken by eSpeak NG
voices, written once as 16 kHz WAV files with a JSON-lines manifest per split, then read back by
the same reader as user data.

Speakers are disjoint across splits: a voice is a voice variant (formants, pitch, voicing; ``m3``,
``f2``, ``klatt4`` …) spoken in any of eight English accents, and the variants of the test split
(and of the validation split) never speak in training. Each utterance also draws its rate, pitch,
pitch range, gain and, half of the time, background noise at 10-40 dB SNR. Texts, voices, rates,
gains and noise levels are deterministic for a seed; the waveforms nearly so (eSpeak NG carries a
little state from one utterance to the next, and its samples can differ slightly between runs).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from annotated_types import Ge, Le

from lstm_apps.apps.asr.audio import resample, to_int16, write_wav
from lstm_apps.apps.asr.espeak import Synthesiser, Voice
from lstm_apps.apps.asr.grammar import utterance_text
from lstm_apps.apps.asr.manifest import Utterance, read_manifest
from lstm_apps.apps.asr.open_sentences import language_model_sentences, sentences_by_split, unseen_share
from lstm_apps.bounds import Positive, Seed
from lstm_apps.data.files import write_text_atomically
from lstm_apps.data.prepared.store import files_identity
from lstm_apps.data.publish import publish_directory

GENERATOR_VERSION = 1
SAMPLE_RATE = 16_000
ACCENTS = [
    "en-us",
    "en",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-029",
    "en-us-nyc",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
]
VARIANTS = {
    "train": (
        "m1 m2 m4 m5 m6 m7 f1 f3 f4 Alex Andy Annie adam anika aunty belinda benjamin boris david "
        "ian john linda max michel norbert paul pedro quincy rob robert steph klatt klatt2 klatt3"
    ).split(),
    "val": "m8 f5 steph2 klatt4".split(),
    "test": "m3 f2 edward klatt5".split(),
}


def draw_voice(rng: random.Random, split: str) -> Voice:
    return Voice(
        accent=rng.choice(ACCENTS),
        variant=rng.choice(VARIANTS[split]),
        rate=rng.randrange(140, 201),
        pitch=rng.randrange(30, 71),
        range=rng.randrange(30, 81),
    )


def recording(speech: np.ndarray, rate: int, rng: random.Random) -> np.ndarray:
    """Synthesised int16 speech as a 16 kHz recording: resampled, a gain of -12 to 0 dB, and
    half of the time white noise at 10-40 dB below the speech's power."""
    audio = resample(speech.astype(np.float32) / 32768.0, rate, SAMPLE_RATE, "speech")
    audio = audio * 10 ** (rng.uniform(-12.0, 0.0) / 20)
    if rng.random() < 0.5 and audio.size:
        power = float(np.mean(audio**2)) or 1e-8
        snr = rng.uniform(10.0, 40.0)
        noise = np.random.default_rng(rng.randrange(2**32)).standard_normal(audio.size).astype(np.float32)
        audio = audio + noise * np.sqrt(power / 10 ** (snr / 10))
    return to_int16(audio)


class GeneratedSpokenCorpus:
    """The embedded default: synthesised once into ``directory`` (WAV files and a manifest per
    split), then read back like user data."""

    def __init__(
        self,
        directory: str,
        train_size: Positive = 6000,
        val_size: Positive = 300,
        test_size: Positive = 500,
        seed: Seed = 0,
        open_share: Annotated[float, Ge(0), Le(1)] = 0.0,
    ) -> None:
        """``open_share``: the share of utterances that are sentences of English at large
        (``open_sentences.py``: held out by split) rather than the grammar's."""
        self.directory = Path(directory)
        self.sizes = {"train": train_size, "val": val_size, "test": test_size}
        self.seed = seed
        self.open_share = open_share

    def folder(self) -> Path:
        sizes = "-".join(str(n) for n in self.sizes.values())
        opened = f"-open{self.open_share:g}" if self.open_share else ""
        return self.directory / f"v{GENERATOR_VERSION}-seed{self.seed}-{sizes}{opened}"

    def texts(self, split: str, rng: random.Random) -> Iterator[str]:
        """The split's utterance texts: the grammar's, and with ``open_share`` sentences of that
        split alone (no val or test sentence is ever a training one)."""
        sentences = sentences_by_split()[split] if self.open_share else ()
        for _ in range(self.sizes[split]):
            if sentences and rng.random() < self.open_share:
                yield sentences[rng.randrange(len(sentences))]
            else:
                yield utterance_text(rng)

    def manifests(self) -> dict[str, Path]:
        return {split: self.folder() / f"{split}.jsonl" for split in self.sizes}

    def prepare(self) -> None:
        """Synthesise the corpus unless present (safe in several processes at once)."""
        publish_directory(self.folder(), self._write, self.manifests().values())

    def _write(self, folder: Path) -> None:
        synthesiser = Synthesiser()
        rng = random.Random(self.seed)
        spoken: dict[str, list[str]] = {}
        for split in self.sizes:
            (folder / split).mkdir()
            rows = []
            spoken[split] = []
            # Drawn one at a time, between each voice and recording: the grammar-only corpus is
            # the same for a seed as before open sentences existed.
            for i, text in enumerate(self.texts(split, rng)):
                spoken[split].append(text)
                voice = draw_voice(rng, split)
                audio = recording(synthesiser.speak(text, voice), synthesiser.sample_rate, rng)
                name = f"{split}/{i:06d}.wav"
                write_wav(folder / name, audio, SAMPLE_RATE)
                entry = {"audio_filepath": name, "duration": round(len(audio) / SAMPLE_RATE, 3), "text": text}
                rows.append(json.dumps({**entry, "voice": voice.name}))
            write_text_atomically(folder / f"{split}.jsonl", "\n".join(rows) + "\n")
        unseen = {split: unseen_share(spoken["train"], spoken[split]) for split in ("val", "test")}
        write_text_atomically(folder / "summary.json", json.dumps({"unseen_word_share": unseen}) + "\n")

    def language_model_texts(self) -> Iterator[str] | None:
        """What the model's n-gram LM is counted on (``SpeechDataModule.language_model_sequences``)
        for an open corpus: the text of its sources that is never spoken in validation or test,
        and the grammar's utterances (numbers, dates, times) in the grammar's share. None for the
        grammar alone: its training transcripts are its text."""
        if not self.open_share:
            return None
        sentences = language_model_sentences()
        rng = random.Random(self.seed + 1)
        grammar = round(len(sentences) * (1 - self.open_share) / self.open_share)
        return iter([*sentences, *(utterance_text(rng) for _ in range(grammar))])

    def identity(self) -> dict[str, Any]:
        return files_identity("spoken", self.manifests())

    def records(self, split: str) -> Iterator[Utterance]:
        self.prepare()  # reads only, once prepare_data() has run
        return read_manifest(self.manifests()[split], f"data.corpus.{split}")
