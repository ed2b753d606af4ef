"""``lstm-apps predict`` for speech: a clip, a folder of clips or a manifest, transcribed in
batches; greedy or beam search, optionally with an n-gram LM over the model's units."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lstm_apps.apps.asr.audio import read_audio
from lstm_apps.apps.asr.datamodule import SpeechBatches, packed_audio
from lstm_apps.apps.asr.manifest import JSON_SUFFIXES, read_manifest
from lstm_apps.apps.asr.model import SpeechModel
from lstm_apps.bounds import NonNegative, Positive
from lstm_apps.errors import UserError
from lstm_apps.pipeline.predictor import Prediction, Predictor

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au")
MANIFEST_SUFFIXES = (*JSON_SUFFIXES, ".tsv")


@dataclass
class SpeechOptions:
    """The options of ``configs/predict/asr.yaml``."""

    input: str | None = None
    beam_size: Positive = 8
    lm: str | None = None
    lm_order: Positive = 6
    lm_weight: NonNegative = 0.5
    lm_bonus: float = 0.5
    output_file: str | None = None
    batch_size: Positive = 16


class SpeechPredictor(Predictor[SpeechModel, SpeechOptions]):
    """``file<TAB>transcript`` per clip: of one clip, of a folder's audio files (sorted), or of a
    manifest's entries. The beam search uses the LM of ``lm`` or else the model's own (counted on
    its training transcripts), if it has one; ``lm_weight=0`` decodes without."""

    options_type = SpeechOptions
    main_input = "input"
    inspection_options: ClassVar[dict[str, Any]] = {"beam_size": 1}

    def predict(self) -> Prediction:
        options = self.options
        if options.input is None:
            raise UserError("predict: give input=clip.wav, input=folder or input=manifest.jsonl")
        target = Path(str(options.input)).expanduser()
        if target.is_dir():
            files = sorted(p for p in target.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
            if not files:
                raise UserError(f"input: {target} holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
            entries = [(file, str(file)) for file in files]
        elif target.suffix.lower() in MANIFEST_SUFFIXES:
            entries = [(u.audio, u.where) for u in read_manifest(target, "input")]
        elif target.is_file():
            entries = [(target, str(target))]
        else:
            raise UserError(f"input: no such file or folder: {target}")
        texts = self.transcribe(entries)
        rows = [f"{file}\t{text}" for (file, _), text in zip(entries, texts, strict=True)]
        return Prediction("\n".join(rows) + "\n", f"transcribed {len(rows)} clips")

    def transcribe(self, entries: list[tuple[Path, str]]) -> list[str]:
        """Transcripts of the audio files (``(path, where)`` each), in batches of similar length."""
        rate = self.model.sample_rate
        return self.transcribe_audio(
            [read_audio(path, rate, where if where != str(path) else "") for path, where in entries]
        )

    def transcribe_audio(self, audio: list[np.ndarray], beam_size: int | None = None) -> list[str]:
        """Transcripts of int16 clips at the model's rate, in batches of similar length; the beam
        defaults to the options'."""
        options = self.options
        batches = SpeechBatches(packed_audio(audio), None, options.batch_size, shuffle=False)
        search = {
            "beam_size": beam_size or options.beam_size,
            "lm": self.language_model(),
            "lm_weight": options.lm_weight,
            "lm_bonus": options.lm_bonus,
        }
        found = dict(
            item for batch in self.run_batches({**b, "search": search} for b in batches) for item in batch
        )
        return [found[i] for i in range(len(audio))]

    def language_model(self) -> Any:
        """The n-gram LM of ``lm`` or the model's own, read once per predictor."""
        if not hasattr(self, "_language_model"):
            self._language_model = self.model.language_model(self.options.lm, self.options.lm_order)
        return self._language_model


PREDICTOR = SpeechPredictor
