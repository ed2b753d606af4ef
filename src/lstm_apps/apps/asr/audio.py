"""Audio files in, int16 mono samples at the model's rate out, or one line naming the file.

``soundfile`` (libsndfile) reads WAV, FLAC, OGG and the other formats it knows; stereo is
down-mixed to mono; other sample rates are resampled with a polyphase filter
(``scipy.signal.resample_poly``), whose cost grows with the reduced ratio of the two rates.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path
from typing import IO

import numpy as np

from lstm_apps.errors import UserError
from lstm_apps.extras import require_extra

LOWEST_RATE = 4_000  # below this a file holds too little of the speech band to resample from
LARGEST_RATIO = 4_000  # up or down factor of the reduced ratio beyond which resampling is refused
MIN_SECONDS = 0.1  # the front end's receptive field: a 32 ms FFT frame and two 5-frame convolutions


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as int16 (clipped)."""
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)


def resample(samples: np.ndarray, rate: int, target: int, where: str) -> np.ndarray:
    """``samples`` (float, mono) at ``rate`` Hz resampled to ``target`` Hz."""
    if rate == target:
        return samples
    if rate < LOWEST_RATE:
        raise UserError(
            f"{where}: sample rate {rate} Hz cannot be resampled to {target} Hz (at least {LOWEST_RATE} Hz)"
        )
    common = gcd(rate, target)
    up, down = target // common, rate // common
    if max(up, down) > LARGEST_RATIO:
        raise UserError(
            f"{where}: sample rate {rate} Hz cannot be resampled to {target} Hz (reduced ratio "
            f"{up}/{down}: convert the file to a common rate such as 16000, 22050, 44100 or 48000 Hz)"
        )
    from scipy.signal import resample_poly

    return resample_poly(samples, up, down).astype(np.float32)


def read_audio(path: str | Path, sample_rate: int, where: str = "") -> np.ndarray:
    """The file's samples as int16 mono at ``sample_rate``; ``where`` (``manifest.jsonl:12``) is
    named in errors beside the file."""
    file = Path(path)
    at = f"{where}: {file}" if where else str(file)
    if not file.is_file():
        raise UserError(f"{at}: audio file not found")
    return decode_audio(str(file), sample_rate, at)


def decode_audio(source: str | IO[bytes], sample_rate: int, at: str) -> np.ndarray:
    """Samples of an audio file (a path, or an open binary file such as an upload) as int16 mono at
    ``sample_rate``; ``at`` names it in errors."""
    require_extra("asr", "reading audio files")
    import soundfile

    try:
        samples, rate = soundfile.read(source, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, TypeError) as err:
        raise UserError(f"{at}: not an audio file soundfile can read ({err})") from None
    if samples.size == 0:
        raise UserError(f"{at}: the file holds no samples")
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    audio = to_int16(resample(mono, int(rate), sample_rate, at))
    if len(audio) < MIN_SECONDS * sample_rate:
        raise UserError(
            f"{at}: {len(audio) / sample_rate * 1000:.0f} ms of audio, shorter than the front end's "
            f"receptive field ({MIN_SECONDS * 1000:.0f} ms)"
        )
    return audio


def write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """int16 samples as a 16-bit PCM WAV file."""
    require_extra("asr", "writing audio files")
    import soundfile

    soundfile.write(str(path), samples, sample_rate, subtype="PCM_16")
