"""``lstm-apps serve`` for speech: ``POST /predict`` with an audio upload (multipart form) -> its
transcript."""

# No ``from __future__ import annotations`` here: LitServe hands these annotations to FastAPI as
# they are, and FastAPI needs the classes, not their names.

import io
from typing import Annotated, Any

import numpy as np
import soundfile
from fastapi import Form, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from lstm_apps.apps.asr.audio import decode_audio
from lstm_apps.apps.asr.predictor import SpeechOptions, SpeechPredictor
from lstm_apps.bounds import Positive
from lstm_apps.errors import UserError
from lstm_apps.serving.api import AppAPI, BadRequest

MAX_BEAM = 64


class TranscribeForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audio: UploadFile = Field(description="a WAV, FLAC or OGG file (any rate; mixed down to mono)")
    beam_size: Positive = Field(SpeechOptions.beam_size, le=MAX_BEAM, description="1: greedy")


class TranscribeResponse(BaseModel):
    transcript: str
    seconds: float = Field(description="length of the audio")


class SpeechAPI(AppAPI):
    summary = "transcribe an uploaded audio clip"

    def warm_up_request(self) -> TranscribeForm:
        """A second of silence, as a WAV upload."""
        wav = io.BytesIO()
        soundfile.write(
            wav, np.zeros(self.model.sample_rate, dtype=np.float32), self.model.sample_rate, format="WAV"
        )
        wav.seek(0)
        return TranscribeForm.model_validate({"audio": UploadFile(wav, filename="warm-up.wav")})

    def decode_request(self, request: Annotated[TranscribeForm, Form()], **kwargs: object) -> tuple[Any, int]:
        data = request.audio.file.read()
        if not data:
            raise BadRequest("audio", "the upload is empty")
        name = request.audio.filename or "audio"
        try:
            samples = decode_audio(io.BytesIO(data), self.model.sample_rate, name)
        except UserError as err:
            raise BadRequest(
                "audio", str(err), status_code=415 if "soundfile can read" in str(err) else 422
            ) from None
        return samples, request.beam_size

    def answer(self, items: list[tuple[Any, int]]) -> list[dict]:
        """One batched search per distinct beam size among the requests."""
        predictor: SpeechPredictor = self.the_predictor
        rate = predictor.model.sample_rate
        answers: dict[int, dict] = {}
        for beam_size in sorted({beam for _, beam in items}):
            members = [i for i, (_, beam) in enumerate(items) if beam == beam_size]
            texts = predictor.transcribe_audio([items[i][0] for i in members], beam_size)
            for i, text in zip(members, texts, strict=True):
                answers[i] = {"transcript": text, "seconds": len(items[i][0]) / rate}
        return [answers[i] for i in range(len(items))]

    def encode_response(self, output: dict, **kwargs: object) -> TranscribeResponse:
        return output  # type: ignore[return-value]


ENDPOINTS = [SpeechAPI]
