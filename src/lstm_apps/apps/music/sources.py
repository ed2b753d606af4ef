"""Where the music app's pieces come from (``data/scores=…``): the JSB Chorales benchmark split,
the Bach chorales music21 ships (no download), or a folder of your own MIDI/MusicXML files.

Each source gives a split's pieces as piano rolls ``[T, 88]`` (``records(split)``, read as it
goes) and what the prepared store's key depends on (``identity()``). The chorales and a folder are
split by piece before anything is transposed, so no split holds a transposed copy of another
split's piece.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from lstm_apps.apps.music.piano_roll import KEYS, read_jsb_json
from lstm_apps.apps.music.prepare import FILES
from lstm_apps.apps.music.score_files import SCORE_SUFFIXES, bach_chorales, read_score
from lstm_apps.bounds import Fraction, Positive, Seed
from lstm_apps.data.prepared.store import file_identity
from lstm_apps.errors import UserError

Grid = Literal["quarter", "16th"]
Transposition = Literal["normalise", "augment", "none"]
STEPS_PER_QUARTER: dict[str, int] = {"quarter": 1, "16th": 4}
# Augmenting by transposition: every training piece in each key from a fourth down to a fifth up
# (the twelve keys), as Boulanger-Lewandowski et al. and DeepBach augment.
AUGMENT_SEMITONES = range(-5, 7)
JSB_SPLIT = {"train": "train", "val": "valid", "test": "test"}


class JsbChorales:
    """JSB Chorales with Boulanger-Lewandowski et al. (2012)'s 229/76/77 split, as
    ``lstm-apps prepare music jsb_chorales`` leaves it in ``folder``; ``grid``: quarter notes (the
    benchmark) or sixteenths. ``augment``: the training pieces also in the other eleven keys
    (validation and test pieces stay as they are)."""

    def __init__(self, folder: str, grid: Grid = "quarter", augment: bool = False) -> None:
        self.grid = grid
        self.augment = augment
        self.path = Path(folder).expanduser() / FILES[grid]
        self.steps_per_quarter = STEPS_PER_QUARTER[grid]

    @cached_property
    def _splits(self) -> dict[str, list[np.ndarray]]:
        if not self.path.is_file():
            raise UserError(
                f"data.scores.folder: {self.path} is missing; run `lstm-apps prepare music jsb_chorales` "
                "(or set data.scores.folder to where its files are)"
            )
        return read_jsb_json(self.path)

    def records(self, split: str) -> Iterator[np.ndarray]:
        pieces = self._splits[JSB_SPLIT[split]]
        return in_all_keys(pieces) if split == "train" and self.augment else iter(pieces)

    def identity(self) -> dict[str, Any]:
        found = file_identity(self.path) if self.path.is_file() else str(self.path)
        return {"corpus": "jsb_chorales", "file": found, "grid": self.grid, "augment": self.augment}


def split_of(names: list[str], val_fraction: float, test_fraction: float, seed: int) -> dict[str, list[int]]:
    """Indices of ``names`` per split: a seeded shuffle of the pieces, cut by the fractions (at
    least one piece each for validation and test when there are three or more)."""
    order = np.random.default_rng(seed).permutation(len(names)).tolist()
    n = len(names)
    n_val = max(1, round(n * val_fraction)) if n >= 3 else 0
    n_test = max(1, round(n * test_fraction)) if n >= 3 else 0
    return {
        "val": sorted(order[:n_val]),
        "test": sorted(order[n_val : n_val + n_test]),
        "train": sorted(order[n_val + n_test :]),
    }


def transposed(roll: np.ndarray, semitones: int) -> np.ndarray | None:
    """``roll`` moved by ``semitones``, or None where a note would leave the keyboard."""
    if semitones == 0:
        return roll
    keys = np.flatnonzero(roll.any(axis=0))
    if keys.min() + semitones < 0 or keys.max() + semitones >= KEYS:
        return None
    return np.roll(roll, semitones, axis=1)


def in_all_keys(rolls: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Each roll moved by each of ``AUGMENT_SEMITONES`` (where it stays on the keyboard)."""
    for roll in rolls:
        for semitones in AUGMENT_SEMITONES:
            moved = transposed(roll, semitones)
            if moved is not None:
                yield moved


class PieceFiles:
    """Score files split by piece; ``transposition``: ``normalise`` (every piece in C major or A
    minor, music21's key analysis), ``augment`` (training pieces in twelve keys, validation and
    test pieces as written) or ``none``. ``pieces``: read only the first this many (a quick try)."""

    corpus = "scores"

    def __init__(
        self,
        steps_per_quarter: Positive = 1,
        transposition: Transposition = "normalise",
        val_fraction: Fraction = 0.1,
        test_fraction: Fraction = 0.1,
        seed: Seed = 0,
        pieces: Positive | None = None,
    ) -> None:
        self.steps_per_quarter = steps_per_quarter
        self.transposition = transposition
        self.fractions = (val_fraction, test_fraction)
        self.seed = seed
        self.pieces = pieces

    def files(self) -> list[tuple[str, Path]]:
        raise NotImplementedError

    @cached_property
    def _chosen(self) -> list[tuple[str, Path]]:
        files = self.files()
        return files[: self.pieces] if self.pieces else files

    def records(self, split: str) -> Iterator[np.ndarray]:
        chosen = self._chosen
        for index in split_of([name for name, _ in chosen], *self.fractions, self.seed)[split]:
            roll = read_score(chosen[index][1], self.steps_per_quarter, self.transposition == "normalise")
            if split == "train" and self.transposition == "augment":
                yield from in_all_keys([roll])
            else:
                yield roll

    def identity(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus,
            "files": [file_identity(path) for _, path in self._chosen],
            "steps_per_quarter": self.steps_per_quarter,
            "transposition": self.transposition,
            "fractions": list(self.fractions),
            "seed": self.seed,
        }


class BachChorales(PieceFiles):
    """The Bach chorales in music21's corpus (in its wheel: nothing to download)."""

    corpus = "bach_chorales"

    def files(self) -> list[tuple[str, Path]]:
        return sorted(bach_chorales())


class ScoreFolder(PieceFiles):
    """Every MIDI and MusicXML file under ``folder`` (recursively), one piece each."""

    def __init__(
        self,
        folder: str,
        steps_per_quarter: Positive = 1,
        transposition: Transposition = "normalise",
        val_fraction: Fraction = 0.1,
        test_fraction: Fraction = 0.1,
        seed: Seed = 0,
        pieces: Positive | None = None,
    ) -> None:
        super().__init__(steps_per_quarter, transposition, val_fraction, test_fraction, seed, pieces)
        self.folder = Path(folder).expanduser()

    def files(self) -> list[tuple[str, Path]]:
        if not self.folder.is_dir():
            raise UserError(f"data.scores.folder: {self.folder} is not a folder")
        found = sorted(p for p in self.folder.rglob("*") if p.suffix.lower() in SCORE_SUFFIXES)
        if not found:
            raise UserError(
                f"data.scores.folder: {self.folder} holds no MIDI or MusicXML files ({', '.join(SCORE_SUFFIXES)})"
            )
        return [(str(p.relative_to(self.folder)), p) for p in found]
