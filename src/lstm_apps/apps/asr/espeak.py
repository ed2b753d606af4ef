"""Speech synthesised with eSpeak NG through its C API (``ctypes``), from the library and voice
data that the ``espeakng-loader`` wheel ships: no system package, no download, and fast enough
(tens of seconds of speech in a fraction of a second) to synthesise a corpus while preparing.

The library keeps one global synthesiser per process; ``Synthesiser`` sets voice, rate, pitch
and range per utterance and collects the int16 samples its callback hands over.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from lstm_apps.errors import UserError
from lstm_apps.extras import require_extra

# espeak_AUDIO_OUTPUT, espeak_PARAMETER, espeak_POSITION_TYPE and flag values of speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass(frozen=True)
class Voice:
    """One speaker: an accent (``en-us``) and a voice variant (``m3``), spoken at ``rate`` words
    per minute with base ``pitch`` and pitch ``range`` (0-99 each)."""

    accent: str
    variant: str
    rate: int = 170
    pitch: int = 50
    range: int = 50

    @property
    def name(self) -> str:
        return f"{self.accent}+{self.variant}"


class Synthesiser:
    """Text -> int16 samples at ``sample_rate`` (22,050 Hz for eSpeak NG's voices)."""

    _library: ctypes.CDLL | None = None
    _sample_rate = 0

    def __init__(self) -> None:
        library = self._load()
        self.library = library
        self.sample_rate = Synthesiser._sample_rate
        self._chunks: list[np.ndarray] = []

        def collect(samples: ctypes._Pointer, count: int, events: int) -> int:
            if count > 0:
                self._chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
            return 0  # go on synthesising

        self._callback = _CALLBACK(collect)  # kept alive as long as the synthesiser
        library.espeak_SetSynthCallback(self._callback)

    @classmethod
    def _load(cls) -> ctypes.CDLL:
        if cls._library is None:
            require_extra("asr", "the synthesised speech corpus")
            import espeakng_loader

            library = ctypes.CDLL(espeakng_loader.get_library_path())
            library.espeak_Initialize.restype = ctypes.c_int
            library.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
            library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            library.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
            library.espeak_SetSynthCallback.argtypes = [_CALLBACK]
            library.espeak_Synth.argtypes = [
                ctypes.c_char_p,
                ctypes.c_size_t,
                ctypes.c_uint,
                ctypes.c_int,
                ctypes.c_uint,
                ctypes.c_uint,
                ctypes.c_void_p,
                ctypes.c_void_p,
            ]
            data = espeakng_loader.get_data_path().encode()
            rate = library.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 200, data, 0)
            if rate <= 0:
                raise UserError(f"eSpeak NG could not start (espeak_Initialize returned {rate})")
            cls._library, cls._sample_rate = library, rate
        return cls._library

    @staticmethod
    @cache
    def variants() -> set[str]:
        """The voice variants eSpeak NG's data holds (``m1``, ``f2``, ``klatt4`` …)."""
        import espeakng_loader

        return {p.name for p in (Path(espeakng_loader.get_data_path()) / "voices" / "!v").iterdir()}

    def speak(self, text: str, voice: Voice) -> np.ndarray:
        """``text`` spoken by ``voice``: int16 samples at ``self.sample_rate``."""
        library = self.library
        # An unknown variant is ignored by eSpeak NG (the accent's own voice speaks): refuse it.
        if voice.variant not in self.variants() or library.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise UserError(f"eSpeak NG has no voice {voice.name!r}")
        for parameter, value in ((_RATE, voice.rate), (_PITCH, voice.pitch), (_RANGE, voice.range)):
            library.espeak_SetParameter(parameter, value, 0)
        library.espeak_SetParameter(_VOLUME, 100, 0)
        self._chunks = []
        encoded = text.encode("utf-8") + b"\0"
        status = library.espeak_Synth(encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != 0:
            raise UserError(f"eSpeak NG could not synthesise {text!r} (error {status})")
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
