"""``POST /inside {"text": …}``: the playground's "inside" view of a text app — the input's pieces
and every cell's value at each, for one layer and state of the block the input runs through
(``inspection/cells.py``, as ``lstm-apps inspect`` draws them). Served beside an app's own
endpoints when its predictor says its input is text (``Predictor.inside_view``)."""

# No ``from __future__ import annotations``: FastAPI reads these annotations as classes.

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lstm_apps.bounds import Count
from lstm_apps.errors import UserError
from lstm_apps.inspection.cells import chosen_block, chosen_cells, jsonable, run_inspected
from lstm_apps.serving.api import AppAPI, BadRequest


class InsideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        description="the input, as the app's main text field takes it", examples=["the cat sat"]
    )
    layer: Count | None = Field(None, description="the layer (null: the last)")
    state: Literal["auto", "h", "c"] = Field("auto", description="h, c, or auto: c where the cell keeps one")


class InsideResponse(BaseModel):
    steps: list[str] = Field(description="the input's pieces (characters, tokens or words) in order")
    state: str = Field(description="which layer and state the values are, e.g. 'layer1 c'")
    values: list[list[float]] = Field(description="per cell, its value at each step")


class InsideAPI(AppAPI):
    summary = "the cells' values at each piece of a text input (the playground's inside view)"
    default_path = "/inside"

    def decode_request(self, request: InsideRequest, **kwargs: object) -> InsideRequest:
        self.text("text", request.text)
        return request

    def answer(self, items: list[InsideRequest]) -> list[dict]:
        """One replay per request: a step-by-step replay reads one input at a time anyway."""
        predictor = self.the_predictor
        kind = type(predictor)
        answers = []
        for item in items:
            options = kind.options_type(**{**kind.inspection_options, str(kind.main_input): item.text})
            one = kind(predictor.model, options, predictor.device, direct=True)
            run = run_inspected(one)
            try:
                cells = chosen_cells(chosen_block(run, None), item.layer, "forward", item.state)
            except UserError as err:
                field, _, message = str(err).partition(": ")
                raise BadRequest(field, message) from None
            answers.append(jsonable(run, cells))
        return answers

    def encode_response(self, output: dict, **kwargs: object) -> InsideResponse:
        return output  # type: ignore[return-value]
