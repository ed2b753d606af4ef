"""``lstm-apps serve`` for the classifier: ``POST /predict {"text": …}`` -> labels and probabilities."""

# No ``from __future__ import annotations`` here: LitServe hands these annotations to FastAPI as
# they are, and FastAPI needs the classes, not their names.

from pydantic import BaseModel, ConfigDict, Field

from lstm_apps.apps.classifier.predictor import ClassifierOptions, ClassifierPredictor
from lstm_apps.bounds import Count
from lstm_apps.serving.api import AppAPI


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="the text to label", examples=["a gripping, beautifully shot film"])
    top_labels: Count = Field(
        ClassifierOptions.top_labels, description="answer the k most probable labels only (0: all)"
    )


class ClassifyResponse(BaseModel):
    labels: list[str] = Field(description="the predicted label (multi-label: every label over the threshold)")
    probabilities: dict[str, float] = Field(description="label -> probability, most probable first")


class ClassifierAPI(AppAPI):
    summary = "label a text"

    def decode_request(self, request: ClassifyRequest, **kwargs: object) -> ClassifyRequest:
        self.text("text", request.text)
        return request

    def answer(self, items: list[ClassifyRequest]) -> list[dict]:
        predictor: ClassifierPredictor = self.the_predictor
        found = predictor.classify([item.text for item in items])
        return [
            {
                "labels": [label for label, _ in predictor.model.predicted_labels(probabilities)],
                "probabilities": dict(predictor.ranked(probabilities, item.top_labels)),
            }
            for item, probabilities in zip(items, found, strict=True)
        ]

    def encode_response(self, output: dict, **kwargs: object) -> ClassifyResponse:
        return output  # type: ignore[return-value]


ENDPOINTS = [ClassifierAPI]
