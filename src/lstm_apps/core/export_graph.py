"""What an app hands to ``lstm-apps export``: its inference functions as modules with example
inputs and axis names. Declared in the core so that the layers every app builds on (the attention
decoder among them) can describe their own graphs; ``pipeline/export.py`` writes and checks them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class ExportGraph:
    """One graph: a module, a factory of example inputs for a batch size, and axis names."""

    name: str
    module: nn.Module
    make_inputs: Callable[[int], tuple[torch.Tensor, ...]]
    input_names: list[str]
    output_names: list[str]
    dynamic_axes: dict[str, dict[int, str]] = field(default_factory=dict)
    extras: dict[str, object] = field(default_factory=dict)  # written next to the graph as JSON


class GraphOf(nn.Module):
    """Makes a model's inference function (tensors in, tensors out) an exportable module.

    The model's layers are registered here, the model itself is not: tracing walks every registered
    module's attributes, and a LightningModule's ``trainer`` refuses to be read outside a Trainer.
    """

    def __init__(self, model: nn.Module, function: Callable[..., tuple[torch.Tensor, ...]]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(model.children())
        self.function = function

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.function(*inputs)


def flat_state(state: torch.Tensor | tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


def state_names(cell: str, prefix: str = "") -> list[str]:
    """Names of a recurrent state's tensors: ``h`` (and ``c`` for LSTM)."""
    return [f"{prefix}h", f"{prefix}c"] if cell == "lstm" else [f"{prefix}h"]
