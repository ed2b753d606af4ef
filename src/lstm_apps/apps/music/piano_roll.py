"""Piano rolls: a piece as frames of the 88 piano keys, one multi-hot frame per time step.

The JSB Chorales benchmark (Boulanger-Lewandowski et al. 2012) stores each piece as a list of time
steps, each the list of sounding MIDI pitches 21-108; ``frames`` turns one into ``[T, 88]``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lstm_apps.data.files import read_text_file
from lstm_apps.errors import UserError

LOWEST_PITCH = 21  # A0, the piano's lowest key
KEYS = 88  # A0 .. C8 (MIDI 21 .. 108)
SPLITS = ("train", "valid", "test")


def frames(piece: list[list[int]], where: str) -> np.ndarray:
    """``[T, 88]`` bool frames of a piece given as pitch lists; ``where`` names it in errors
    (a pitch off the keyboard, an empty piece, a step that is not a list of integers)."""
    if not piece:
        raise UserError(f"{where}: an empty piece (no time steps)")
    roll = np.zeros((len(piece), KEYS), dtype=bool)
    for step, pitches in enumerate(piece):
        if not isinstance(pitches, list) or not all(isinstance(p, int | float) for p in pitches):
            raise UserError(f"{where}, step {step}: expected a list of MIDI pitches, got {pitches!r}")
        for pitch in pitches:
            key = int(pitch) - LOWEST_PITCH
            if not 0 <= key < KEYS:
                raise UserError(
                    f"{where}, step {step}: pitch {pitch} is off the piano keyboard "
                    f"(MIDI {LOWEST_PITCH}-{LOWEST_PITCH + KEYS - 1})"
                )
            roll[step, key] = True
    return roll


def pitches(roll: np.ndarray) -> list[list[int]]:
    """The inverse of ``frames``: the sounding MIDI pitches of each frame."""
    return [[int(k) + LOWEST_PITCH for k in np.flatnonzero(frame)] for frame in roll]


def read_jsb_json(path: str | Path) -> dict[str, list[np.ndarray]]:
    """The benchmark's JSON (``{"train"|"valid"|"test": [piece: [step: [pitches]]]}``) as piano
    rolls per split; a missing split or a bad piece is one line naming the file and the piece."""
    text = read_text_file(path, "data.path")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: not JSON ({err})") from None
    if not isinstance(data, dict) or any(split not in data for split in SPLITS):
        found = ", ".join(data) if isinstance(data, dict) else type(data).__name__
        raise UserError(f"{path}: expected the splits {', '.join(SPLITS)} (found: {found})")
    return {
        split: [frames(piece, f"{path}: {split} piece {i}") for i, piece in enumerate(data[split])]
        for split in SPLITS
    }


# A roll as a flat sequence of small integers for the prepared store: each step's sounding keys
# (0-87), then STEP_END. A chorale's step holds about four keys, so this is about 5 bytes a step
# where the frames would take 88.
STEP_END = KEYS


def events(roll: np.ndarray) -> np.ndarray:
    """``roll [T, 88]`` as ``uint8`` events: each step's keys, lowest first, then ``STEP_END``."""
    steps, keys = np.nonzero(roll)
    out = np.full(len(keys) + len(roll), STEP_END, dtype=np.uint8)
    out[np.arange(len(keys)) + steps] = keys  # entry i of step t has t step ends before it
    return out


def roll_of_events(encoded: np.ndarray) -> np.ndarray:
    """The inverse of ``events``: ``[T, 88]`` bool frames."""
    ends = encoded == STEP_END
    step = np.cumsum(ends) - ends
    roll = np.zeros((int(ends.sum()), KEYS), dtype=bool)
    roll[step[~ends], encoded[~ends].astype(np.int64)] = True
    return roll
