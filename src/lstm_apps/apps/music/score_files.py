"""Scores (MIDI, MusicXML, the chorales music21 ships) as piano rolls on a regular grid.

A key is on at step ``t`` when a note of that pitch sounds at time ``t / steps_per_quarter``
(quarter lengths from the start), as the JSB benchmark samples its pieces. ``in_c`` transposes a
piece to C major or A minor (music21's key analysis), the usual normalisation before training;
augmenting by transposition instead is the caller's choice, made after the split by piece.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lstm_apps.apps.music.piano_roll import KEYS, LOWEST_PITCH
from lstm_apps.errors import UserError
from lstm_apps.extras import require_extra

SCORE_SUFFIXES = (".mid", ".midi", ".xml", ".musicxml", ".mxl")


def score_roll(score: Any, steps_per_quarter: int, where: str) -> np.ndarray:
    """``[T, 88]`` bool frames of a music21 score (every part together)."""
    notes = list(score.flatten().notes)
    # The last note's end, not the score's: MIDI files come back padded to whole bars.
    length = max((float(n.offset) + float(n.duration.quarterLength) for n in notes), default=0.0)
    steps = math.ceil(length * steps_per_quarter - 1e-9)
    if steps == 0:
        raise UserError(f"{where}: an empty piece (no notes)")
    roll = np.zeros((steps, KEYS), dtype=bool)
    for note in notes:
        start = float(note.offset)
        end = start + float(note.duration.quarterLength)
        first = math.ceil(start * steps_per_quarter - 1e-9)
        last = math.ceil(end * steps_per_quarter - 1e-9)  # steps before the note ends
        for pitch in note.pitches:
            key = int(pitch.midi) - LOWEST_PITCH
            if not 0 <= key < KEYS:
                raise UserError(
                    f"{where}: pitch {pitch.nameWithOctave} (MIDI {pitch.midi}) at quarter {start:g} is off "
                    f"the piano keyboard (MIDI {LOWEST_PITCH}-{LOWEST_PITCH + KEYS - 1})"
                )
            roll[first:last, key] = True
    if not roll.any():
        raise UserError(f"{where}: an empty piece (no notes)")
    return roll


def in_c(score: Any) -> Any:
    """The score transposed to C major or A minor (by music21's key analysis)."""
    from music21 import interval, pitch

    key = score.analyze("key")
    tonic = "C" if key.mode == "major" else "A"
    return score.transpose(interval.Interval(key.tonic, pitch.Pitch(tonic)))


def read_score(path: str | Path, steps_per_quarter: int = 1, normalise: bool = True) -> np.ndarray:
    """A MIDI or MusicXML file as a piano roll; a file music21 cannot read is one line naming it."""
    require_extra("music", "reading MIDI and MusicXML files")
    from music21 import converter

    file = Path(path)
    if not file.is_file():
        raise UserError(f"{file}: file not found")
    if file.suffix.lower() not in SCORE_SUFFIXES:
        raise UserError(f"{file}: not a MIDI or MusicXML file (expected {', '.join(SCORE_SUFFIXES)})")
    try:
        score = converter.parse(str(file))
    except Exception as err:  # music21 raises many kinds for a bad file; each means "cannot read"
        raise UserError(f"{file}: music21 cannot read it ({type(err).__name__}: {err})") from None
    return score_roll(in_c(score) if normalise else score, steps_per_quarter, str(file))


def bach_chorales() -> Iterator[tuple[str, Path]]:
    """``(name, path)`` of each Bach chorale in music21's corpus stored as MusicXML (410 of its
    413 files; the other three are Humdrum copies). No download."""
    require_extra("music", "the Bach chorales music21 ships")
    from music21 import corpus

    for path in corpus.getComposer("bach"):
        file = Path(str(path))
        if file.suffix.lower() in SCORE_SUFFIXES:
            yield file.name[: -len(file.suffix)], file


def midi_bytes(roll: np.ndarray, steps_per_quarter: int, quarters_per_minute: int) -> bytes:
    """A standard MIDI file of ``roll`` (one track, a piano): each run of a key's frames is one
    note, the grid's step ``1 / steps_per_quarter`` quarter notes long."""
    require_extra("music", "writing MIDI files")
    from music21 import midi, note, stream, tempo

    from lstm_apps.apps.music.rendering import note_runs

    part: Any = stream.Stream()
    part.insert(0, tempo.MetronomeMark(number=quarters_per_minute))
    # A rest as long as the piece keeps its length in the file where it ends in silence (a
    # reader takes the last note's end).
    part.insert(0, note.Rest(quarterLength=len(roll) / steps_per_quarter))
    for key, first, steps in note_runs(roll):
        sounding = note.Note(key + LOWEST_PITCH)
        sounding.quarterLength = steps / steps_per_quarter
        part.insert(first / steps_per_quarter, sounding)
    track = midi.translate.streamToMidiFile(part)
    return bytes(track.writestr())


def read_score_bytes(data: bytes, name: str, steps_per_quarter: int) -> np.ndarray:
    """A MIDI or MusicXML file given as bytes (an upload) as a piano roll, as written (no
    transposition); anything music21 cannot read is one line naming ``name``."""
    require_extra("music", "reading MIDI and MusicXML files")
    from music21 import converter

    try:
        score = converter.parseData(data) if not data.startswith(b"MThd") else _parse_midi(data)
    except Exception as err:  # music21 raises many kinds for a bad file; each means "cannot read"
        raise UserError(
            f"{name}: not a MIDI or MusicXML file music21 can read ({type(err).__name__})"
        ) from None
    return score_roll(score, steps_per_quarter, name)


def _parse_midi(data: bytes) -> Any:
    from music21 import midi

    track = midi.MidiFile()
    track.readstr(data)
    return midi.translate.midiFileToStream(track)
