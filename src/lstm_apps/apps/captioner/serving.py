"""``lstm-apps serve`` for the captioner: ``POST /predict`` with an image upload (multipart form)
-> its caption, optionally with the attention over the image per word."""

# No ``from __future__ import annotations`` here: LitServe hands these annotations to FastAPI as
# they are, and FastAPI needs the classes, not their names.

import io
from typing import Annotated

import torch
from fastapi import Form, UploadFile
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from lstm_apps.apps.captioner.datamodule import image_transform, load_image
from lstm_apps.apps.captioner.predictor import CaptionerOptions, CaptionerPredictor
from lstm_apps.bounds import Positive
from lstm_apps.errors import UserError
from lstm_apps.serving.api import AppAPI, BadRequest

MAX_BEAM = 64


class CaptionForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: UploadFile = Field(description="a PNG, JPEG, GIF, BMP or WebP file")
    beam_size: Positive = Field(CaptionerOptions.beam_size, le=MAX_BEAM, description="1: greedy")
    attention: bool = Field(False, description="also answer each word's attention over the image")


class CaptionAttention(BaseModel):
    words: list[str]
    grid_size: int = Field(
        description="the image's centre square is split into grid_size x grid_size regions"
    )
    weights: list[list[float]] = Field(description="per word, one weight per region, row by row")


class CaptionResponse(BaseModel):
    caption: str
    attention: CaptionAttention | None = None


class Decoded(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    image: torch.Tensor
    beam_size: int
    attention: bool


class CaptionerAPI(AppAPI):
    summary = "caption an uploaded image"

    def warm_up_request(self) -> CaptionForm:
        """A grey square, as a PNG upload."""
        png = io.BytesIO()
        Image.new("RGB", (self.model.image_size, self.model.image_size), (128, 128, 128)).save(
            png, format="PNG"
        )
        png.seek(0)
        return CaptionForm.model_validate({"image": UploadFile(png, filename="warm-up.png")})

    def decode_request(self, request: Annotated[CaptionForm, Form()], **kwargs: object) -> Decoded:
        data = request.image.file.read()
        if not data:
            raise BadRequest("image", "the upload is empty")
        name = request.image.filename or "image"
        try:
            image = load_image(io.BytesIO(data), image_transform(self.model.image_size), name)
        except UserError as err:
            raise BadRequest("image", f"not an image ({err})", status_code=415) from None
        return Decoded(image=image, beam_size=request.beam_size, attention=request.attention)

    def answer(self, items: list[Decoded]) -> list[dict]:
        """One batched search per distinct (beam size, attention) among the requests."""
        predictor: CaptionerPredictor = self.the_predictor
        answers: dict[int, dict] = {}
        for key in sorted({(item.beam_size, item.attention) for item in items}):
            members = [i for i, item in enumerate(items) if (item.beam_size, item.attention) == key]
            found = predictor.caption_images([items[i].image for i in members], *key)
            for i, caption in zip(members, found, strict=True):
                attention = None
                if caption.attention is not None and caption.words is not None:
                    regions = len(caption.attention[0]) if caption.attention else 0
                    attention = {
                        "words": caption.words,
                        "grid_size": round(regions**0.5),
                        "weights": caption.attention,
                    }
                answers[i] = {"caption": caption.text, "attention": attention}
        return [answers[i] for i in range(len(items))]

    def encode_response(self, output: dict, **kwargs: object) -> CaptionResponse:
        return output  # type: ignore[return-value]


ENDPOINTS = [CaptionerAPI]
