"""Hearing and seeing a piano roll without a sound font or a plotting library: a small additive
synthesiser (sine partials with short fades, so notes do not click) and a picture of the roll."""

from __future__ import annotations

import numpy as np
import torch

from lstm_apps.apps.music.piano_roll import LOWEST_PITCH

SAMPLE_RATE = 16_000
QUARTERS_PER_MINUTE = 100  # the tempo samples are played at
FADE_S = 0.01


def note_runs(roll: np.ndarray) -> list[tuple[int, int, int]]:
    """``(key, first step, steps)`` of every note: a run of consecutive frames with the key on."""
    padded = np.zeros((roll.shape[0] + 2, roll.shape[1]), dtype=np.int8)
    padded[1:-1] = roll
    change = np.diff(padded, axis=0)
    starts, keys = np.nonzero(change == 1)
    ends, end_keys = np.nonzero(change == -1)
    order_start, order_end = np.lexsort((starts, keys)), np.lexsort((ends, end_keys))
    return [
        (int(k), int(s), int(e - s))
        for k, s, e in zip(keys[order_start], starts[order_start], ends[order_end], strict=True)
    ]


def synthesise(roll: np.ndarray, steps_per_quarter: int, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Mono samples ``[S]`` in [-1, 1] of ``roll [T, 88]`` at ``QUARTERS_PER_MINUTE``: each note a
    sine with two quieter overtones, faded in and out over ``FADE_S``."""
    step_samples = round(sample_rate * 60 / QUARTERS_PER_MINUTE / steps_per_quarter)
    out = np.zeros(roll.shape[0] * step_samples, dtype=np.float32)
    fade = max(1, round(FADE_S * sample_rate))
    for key, first, steps in note_runs(roll):
        count = steps * step_samples
        t = np.arange(count, dtype=np.float32) / sample_rate
        frequency = 440.0 * 2 ** ((key + LOWEST_PITCH - 69) / 12)
        tone = sum(
            np.sin(2 * np.pi * frequency * h * t) / h**2 for h in (1, 2, 3) if frequency * h < sample_rate / 2
        )
        envelope = np.minimum(1.0, np.minimum(np.arange(count) + 1, count - np.arange(count)) / fade)
        out[first * step_samples : first * step_samples + count] += (tone * envelope).astype(np.float32)
    peak = float(np.abs(out).max()) if len(out) else 0.0
    return torch.from_numpy(out / peak * 0.8 if peak > 0 else out)


def roll_image(roll: np.ndarray, cell: int = 4) -> torch.Tensor:
    """``[3, H, W]`` in [0, 1]: time left to right, the highest key on top, the keys the piece
    uses (and a tone either side), sounding keys dark on white, a grey line at each C."""
    used = np.flatnonzero(roll.any(axis=0))
    low, high = (int(used.min()) - 1, int(used.max()) + 2) if len(used) else (39, 52)
    low, high = max(low, 0), min(high, roll.shape[1])
    part = torch.from_numpy(roll[:, low:high].astype(np.float32)).T.flip(0)  # [keys, T], high on top
    image = torch.ones(3, *part.shape)
    c_rows = [high - 1 - k for k in range(low, high) if (k + LOWEST_PITCH) % 12 == 0]
    image[:, c_rows, :] = 0.85
    colour = torch.tensor([0.21, 0.35, 0.88])[:, None, None]
    image = torch.where(part.bool()[None], colour.expand_as(image), image)
    return image.repeat_interleave(cell, dim=1).repeat_interleave(cell, dim=2)
