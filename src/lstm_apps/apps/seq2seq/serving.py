"""``lstm-apps serve`` for seq2seq: ``POST /predict {"source": …}`` -> translation(s), optionally
the n best and the attention over the source."""

# No ``from __future__ import annotations`` here: LitServe hands these annotations to FastAPI as
# they are, and FastAPI needs the classes, not their names.

from itertools import groupby

from pydantic import BaseModel, ConfigDict, Field

from lstm_apps.apps.seq2seq.predictor import Seq2SeqOptions, Seq2SeqPredictor
from lstm_apps.bounds import Positive
from lstm_apps.serving.api import AppAPI

MAX_BEAM = 64


class TranslateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        description="one sentence in the source language", examples=["Ein Mann fährt Fahrrad."]
    )
    beam_size: Positive = Field(Seq2SeqOptions.beam_size, le=MAX_BEAM, description="1: greedy")
    n_best: Positive = Field(
        Seq2SeqOptions.n_best, le=MAX_BEAM, description="hypotheses answered, best first"
    )
    attention: bool = Field(False, description="also answer the best translation's attention weights")


class Hypothesis(BaseModel):
    text: str
    score: float = Field(description="log-probability divided by the length penalty")


class Attention(BaseModel):
    source_tokens: list[str]
    target_tokens: list[str]
    weights: list[list[float]] = Field(description="one row per target token, one column per source token")


class TranslateResponse(BaseModel):
    translation: str
    n_best: list[Hypothesis]
    attention: Attention | None = None


class Seq2SeqAPI(AppAPI):
    summary = "translate a sentence"

    def decode_request(self, request: TranslateRequest, **kwargs: object) -> TranslateRequest:
        self.text("source", request.source)
        if request.n_best > request.beam_size:
            request.beam_size = request.n_best  # the n best need a beam at least that wide
        return request

    def answer(self, items: list[TranslateRequest]) -> list[dict]:
        """One batched search per distinct (beam size, n best, attention) among the requests."""
        predictor: Seq2SeqPredictor = self.the_predictor
        answers: dict[int, dict] = {}

        def settings(i: int) -> tuple[int, int, bool]:
            return items[i].beam_size, items[i].n_best, items[i].attention

        for (beam_size, n_best, attention), group in groupby(
            sorted(range(len(items)), key=settings), settings
        ):
            members = list(group)
            found = predictor.translate([items[i].source for i in members], beam_size, n_best, attention)
            for i, hypotheses in zip(members, found, strict=True):
                best = hypotheses[0]
                answers[i] = {
                    "translation": best.text,
                    "n_best": [{"text": h.text, "score": h.score} for h in hypotheses],
                    "attention": (
                        {
                            "source_tokens": best.source_tokens,
                            "target_tokens": best.target_tokens,
                            "weights": best.attention,
                        }
                        if attention and best.attention is not None
                        else None
                    ),
                }
        return [answers[i] for i in range(len(items))]

    def encode_response(self, output: dict, **kwargs: object) -> TranslateResponse:
        return output  # type: ignore[return-value]


ENDPOINTS = [Seq2SeqAPI]
