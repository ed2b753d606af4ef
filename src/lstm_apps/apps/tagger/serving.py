"""``lstm-apps serve`` for the tagger: ``POST /predict {"text": …}`` -> entities with character offsets."""

# No ``from __future__ import annotations`` here: LitServe hands these annotations to FastAPI as
# they are, and FastAPI needs the classes, not their names.

from pydantic import BaseModel, ConfigDict, Field

from lstm_apps.apps.tagger.predict_io import tag_texts
from lstm_apps.apps.tagger.predictor import TaggerPredictor
from lstm_apps.serving.api import AppAPI


class TagRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        description="running text; split into words as the tagger was trained",
        examples=["John lives in Berlin ."],
    )


class EntityOut(BaseModel):
    type: str
    text: str
    start: int = Field(description="offset of the first character in text")
    end: int = Field(description="offset after the last character")


class TokenOut(BaseModel):
    text: str
    start: int
    end: int
    tag: str


class TagResponse(BaseModel):
    entities: list[EntityOut]
    tokens: list[TokenOut]


class TaggerAPI(AppAPI):
    summary = "find the entities of a text"

    def decode_request(self, request: TagRequest, **kwargs: object) -> str:
        return self.text("text", request.text)

    def answer(self, items: list[str]) -> list[dict]:
        predictor: TaggerPredictor = self.the_predictor
        tagged = tag_texts(items, predictor.tag, predictor.model.scheme)
        return [
            {
                "entities": [
                    {"type": e.type, "text": e.text, "start": e.start, "end": e.end} for e in one.entities
                ],
                "tokens": [
                    {"text": word, "start": start, "end": end, "tag": tag}
                    for (word, start, end), tag in zip(one.words, one.tags, strict=True)
                ],
            }
            for one in tagged
        ]

    def encode_response(self, output: dict, **kwargs: object) -> TagResponse:
        return output  # type: ignore[return-value]


ENDPOINTS = [TaggerAPI]
