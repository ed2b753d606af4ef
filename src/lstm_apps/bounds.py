"""The ranges settings are declared with, once, on the parameters that own them.

A constructor parameter says what it accepts in its annotation (``hidden_size: Positive``,
``cell: CellType``); ``lstm_apps.config_ranges`` reads those annotations to check a composed
config before anything is built, and to name the key, the value and what is allowed in one line.
The bounds are ``annotated-types`` objects (the vocabulary pydantic uses), so the same
annotations read the same to any validator.
"""

from __future__ import annotations

from typing import Annotated, Literal

from annotated_types import Ge, Gt, Le, Lt

Positive = Annotated[int, Ge(1)]
"""An integer >= 1: sizes, counts of layers, batch sizes."""

Quantization = Literal["none", "int8"]
"""How a trained model's recurrent layers run for inference: float32 as trained, or int8 (CPU)."""

Count = Annotated[int, Ge(0)]
"""An integer >= 0 (0 usually switches something off)."""

AtLeastMinusOne = Annotated[int, Ge(-1)]
"""An integer >= -1, where -1 means all."""

Seed = Annotated[int, Ge(0), Le(2**32 - 1)]
"""What ``seed_everything`` and numpy accept."""

PositiveReal = Annotated[float, Gt(0)]
"""A real number > 0: learning rates, temperatures."""

NonNegative = Annotated[float, Ge(0)]
"""A real number >= 0: penalties, weights."""

Dropout = Annotated[float, Ge(0), Lt(1)]
"""A probability of dropping: 0 (off) up to, not including, 1."""

Fraction = Annotated[float, Gt(0), Lt(1)]
"""A share strictly between 0 and 1."""


class KeysOf:
    """Marks a mapping parameter whose entries are the keyword arguments of ``target`` (the
    captioner's ``encoder`` settings are ``ImageEncoder``'s): they are checked as its parameters,
    under the parameter's own key (``model.encoder.grid_size``)."""

    def __init__(self, target: type) -> None:
        self.target = target

    def __repr__(self) -> str:
        return f"KeysOf({self.target.__qualname__})"
