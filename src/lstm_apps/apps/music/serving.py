"""``lstm-apps serve`` for music: ``POST /predict`` -> sampled pieces (optionally continuing a
primer), each as its frames' pitches and a MIDI file (base64)."""

# No ``from __future__ import annotations`` here: LitServe hands these annotations to FastAPI as
# they are, and FastAPI needs the classes, not their names.

import base64
import binascii
from typing import Annotated

import numpy as np
from annotated_types import Ge, Gt, Le
from pydantic import BaseModel, ConfigDict, Field

from lstm_apps.apps.music.piano_roll import frames, pitches
from lstm_apps.apps.music.predictor import MusicPredictor
from lstm_apps.errors import UserError
from lstm_apps.serving.api import AppAPI, BadRequest

MAX_SAMPLES = 16
MAX_STEPS = 2048


class MusicRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    num_samples: Annotated[int, Ge(1), Le(MAX_SAMPLES)] = Field(1, description="pieces to sample")
    length: Annotated[int, Ge(1), Le(MAX_STEPS)] = Field(
        64, description="time steps to sample (after the primer)"
    )
    temperature: Annotated[float, Gt(0), Le(10)] = Field(1.0, description="< 1: safer, > 1: wilder")
    seed: Annotated[int, Ge(0), Le(2**32 - 1)] | None = Field(
        None, description="the same seed, the same pieces"
    )
    primer: list[list[int]] | None = Field(
        None,
        description="frames to continue: each time step's sounding MIDI pitches (21-108)",
        examples=[[[60, 64, 67], [60, 64, 67], [59, 62, 67]]],
    )
    primer_midi: str | None = Field(None, description="or a MIDI / MusicXML file to continue, base64-encoded")


class Sample(BaseModel):
    steps: list[list[int]] = Field(description="each time step's sounding MIDI pitches, the primer first")
    midi: str = Field(description="the piece as a standard MIDI file, base64-encoded")


class MusicResponse(BaseModel):
    samples: list[Sample]
    steps_per_quarter: int = Field(description="time steps per quarter note (the model's grid)")
    primer_steps: int = Field(description="how many of each sample's first steps are the primer")


class MusicAPI(AppAPI):
    summary = "sample pieces, or continue a primer"

    def decode_request(
        self, request: MusicRequest, **kwargs: object
    ) -> tuple[MusicRequest, np.ndarray | None]:
        predictor: MusicPredictor = self.the_predictor
        if request.primer is not None and request.primer_midi is not None:
            raise BadRequest("primer", "give primer or primer_midi, not both")
        try:
            if request.primer is not None:
                if len(request.primer) > MAX_STEPS:
                    raise BadRequest("primer", f"{len(request.primer)} steps; at most {MAX_STEPS}", 413)
                return request, predictor.checked_primer(frames(request.primer, "primer"), "the primer")
            if request.primer_midi is not None:
                # A file, not text: serve.max_upload_mb bounds it (the whole body), not max_input_chars.
                try:
                    data = base64.b64decode(request.primer_midi, validate=True)
                except (binascii.Error, ValueError):
                    raise BadRequest("primer_midi", "not base64") from None
                return request, predictor.primer_from_bytes(data, "primer_midi")
        except UserError as err:  # "primer, step 3: …", "primer_midi: …": already field first
            field, _, message = str(err).partition(": ")
            raise BadRequest(field, message) from None
        return request, None

    def answer(self, items: list[tuple[MusicRequest, np.ndarray | None]]) -> list[dict]:
        predictor: MusicPredictor = self.the_predictor
        answers = []
        for request, primer in items:  # each request's pieces are one batch (their own length, seed …)
            rolls = predictor.sample(
                request.num_samples, request.length, request.temperature, primer, request.seed
            )
            answers.append(
                {
                    "samples": [
                        {
                            "steps": pitches(roll),
                            "midi": base64.b64encode(predictor.midi(roll)).decode("ascii"),
                        }
                        for roll in rolls
                    ],
                    "steps_per_quarter": predictor.model.steps_per_quarter,
                    "primer_steps": 0 if primer is None else len(primer),
                }
            )
        return answers

    def encode_response(self, output: dict, **kwargs: object) -> MusicResponse:
        return output  # type: ignore[return-value]


ENDPOINTS = [MusicAPI]
