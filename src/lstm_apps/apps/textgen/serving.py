"""``lstm-apps serve`` for textgen: ``POST /predict {"prompt": …}`` -> the text written, and
``POST /stream`` -> the same as newline-delimited JSON, one piece per line as tokens are sampled."""

# No ``from __future__ import annotations`` here: LitServe hands these annotations to FastAPI as
# they are, and FastAPI needs the classes, not their names.

from collections.abc import Iterator
from itertools import groupby
from typing import Annotated

from annotated_types import Gt, Le
from pydantic import BaseModel, ConfigDict, Field

from lstm_apps.apps.textgen.model import LanguageModel
from lstm_apps.apps.textgen.predictor import TextgenOptions
from lstm_apps.bounds import Count, Positive, PositiveReal, Seed
from lstm_apps.serving.api import AppAPI, StreamingAppAPI

MAX_NEW_TOKENS = 5000
MAX_SAMPLES = 16


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(TextgenOptions.prompt, description="the text to continue (empty: a new document)")
    max_new_tokens: Positive = Field(TextgenOptions.max_new_tokens, le=MAX_NEW_TOKENS)
    num_samples: Positive = Field(TextgenOptions.num_samples, le=MAX_SAMPLES, description="/predict only")
    greedy: bool = TextgenOptions.greedy
    temperature: PositiveReal = TextgenOptions.temperature
    top_k: Count = TextgenOptions.top_k
    top_p: Annotated[float, Gt(0), Le(1)] = TextgenOptions.top_p
    seed: Seed | None = Field(
        TextgenOptions.seed, description="the same seed and settings write the same text"
    )

    def sampling(self) -> dict:
        return {
            "greedy": self.greedy,
            "temperature": self.temperature,
            "top_k": self.top_k,
            "top_p": self.top_p,
            "seed": self.seed,
        }


class GenerateResponse(BaseModel):
    samples: list[str] = Field(description="prompt and continuation in reading order, one per sample")
    generated: list[str] = Field(description="what the model wrote, one per sample")


class StreamPiece(BaseModel):
    text: str = Field(description="the next piece of text")
    before: bool = Field(
        description="true for a model of reversed text: the piece goes before the text so far"
    )


class _TextgenAPI(AppAPI):
    def decode_request(self, request: GenerateRequest, **kwargs: object) -> GenerateRequest:
        self.text("prompt", request.prompt, allow_empty=True)
        return request

    def warm_up_request(self) -> GenerateRequest:
        return GenerateRequest.model_validate({"max_new_tokens": 8})


class GenerateAPI(_TextgenAPI):
    summary = "continue a prompt"

    def answer(self, items: list[GenerateRequest]) -> list[dict]:
        """One batched generation per distinct (sampling settings, length); a seeded request is
        generated alone, so that its seed alone decides its text."""
        model: LanguageModel = self.model
        rows = [(i, sample) for i, item in enumerate(items) for sample in range(item.num_samples)]

        def settings(row: tuple[int, int]) -> tuple[int, int, bool, float, int, float]:
            item = items[row[0]]
            alone = row[0] if item.seed is not None else -1
            return (alone, item.max_new_tokens, item.greedy, item.temperature, item.top_k, item.top_p)

        written: dict[tuple[int, int], str] = {}
        for _, group in groupby(sorted(rows, key=settings), settings):
            members = list(group)
            first = items[members[0][0]]
            texts = model.generate_many(
                [items[i].prompt for i, _ in members], first.max_new_tokens, **first.sampling()
            )
            written.update(zip(members, texts, strict=True))
        answers = []
        for i, item in enumerate(items):
            generated = [written[(i, sample)] for sample in range(item.num_samples)]
            answers.append(
                {"samples": [model.join(item.prompt, text) for text in generated], "generated": generated}
            )
        return answers

    def encode_response(self, output: dict, **kwargs: object) -> GenerateResponse:
        return output  # type: ignore[return-value]


class StreamAPI(StreamingAppAPI, _TextgenAPI):
    summary = "continue a prompt, streamed: one JSON object per line"
    default_path = "/stream"

    def pieces(self, item: GenerateRequest) -> Iterator[dict]:
        model: LanguageModel = self.model
        for piece in model.stream(item.prompt, item.max_new_tokens, **item.sampling()):
            yield {"text": piece, "before": model.reverse}

    def encode_response(self, output: Iterator[dict], **kwargs: object):
        # Unannotated: FastAPI takes a return annotation for the response model of the whole
        # answer; each line is a StreamPiece.
        for piece in output:
            yield StreamPiece(**piece).model_dump()


ENDPOINTS = [GenerateAPI, StreamAPI]
