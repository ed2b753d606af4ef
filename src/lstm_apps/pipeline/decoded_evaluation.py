"""Validation/test for apps scored on decoded outputs (translations, captions, tag sequences):
decode each batch, gather the outputs of every process at epoch end, score them against the
references."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import torch

from lstm_apps.pipeline.distributed import gather_lists

Decoded = TypeVar("Decoded")  # what the app decodes one example into (a text, a tag sequence, …)


class DecodedEvaluation(Generic[Decoded]):
    """Mixin for an ``AppModule``. The app implements ``_evaluate_batch(batch, batch_idx, split)``
    (decode, then ``self._decoded += [(dataset index, output), …]``) and ``_finish_epoch(split)``
    (score ``self.decoded_with_references(split)`` and log). Apps that search set
    ``val_beam_size`` / ``test_beam_size``; ``beam_size_for(split)`` reads them."""

    app_data: Callable[[], Any]  # AppModule.app_data
    _decoded: list[tuple[int, Decoded]]

    def beam_size_for(self, split: str) -> int:
        return int(getattr(self, f"{split}_beam_size", 1))

    def _evaluate_batch(self, batch: dict[str, torch.Tensor], batch_idx: int, split: str) -> None:
        raise NotImplementedError

    def _finish_epoch(self, split: str) -> None:
        raise NotImplementedError

    def decoded_with_references(self, split: str) -> tuple[list[Decoded], list[Any]]:
        """Hypotheses from all processes in dataset order, with the datamodule's references."""
        decoded = dict(gather_lists(self._decoded))
        self._decoded = []
        references = self.app_data().references(split)
        ordered = sorted(decoded)
        return [decoded[i] for i in ordered], [references[i] for i in ordered]

    def on_validation_epoch_start(self) -> None:
        self._decoded = []

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate_batch(batch, batch_idx, "val")

    def on_validation_epoch_end(self) -> None:
        self._finish_epoch("val")

    def on_test_epoch_start(self) -> None:
        self._decoded = []

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate_batch(batch, batch_idx, "test")

    def on_test_epoch_end(self) -> None:
        self._finish_epoch("test")
