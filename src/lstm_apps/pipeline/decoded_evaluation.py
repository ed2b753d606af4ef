"""Validation/test for apps scored on decoded text (translations, captions): decode each batch,
gather the outputs of every process at epoch end, and score them against the references."""

from __future__ import annotations

from typing import Any

import torch

from lstm_apps.pipeline.distributed import gather_lists


class DecodedEvaluation:
    """Mixin for an ``AppModule``. The app implements ``_evaluate_batch(batch, batch_idx, split,
    beam_size)`` (decode, then ``self._decoded += [(dataset index, text), …]``) and
    ``_finish_epoch(split)`` (score ``self.decoded_with_references(split)`` and log)."""

    val_beam_size: int
    test_beam_size: int
    trainer: Any

    def _evaluate_batch(
        self, batch: dict[str, torch.Tensor], batch_idx: int, split: str, beam_size: int
    ) -> None:
        raise NotImplementedError

    def _finish_epoch(self, split: str) -> None:
        raise NotImplementedError

    def decoded_with_references(self, split: str) -> tuple[list[str], list[Any]]:
        """Hypotheses from all processes in dataset order, with the datamodule's references."""
        decoded = dict(gather_lists(self._decoded))
        self._decoded = []
        references = self.trainer.datamodule.references(split)
        ordered = sorted(decoded)
        return [decoded[i] for i in ordered], [references[i] for i in ordered]

    def on_validation_epoch_start(self) -> None:
        self._decoded: list[tuple[int, str]] = []

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate_batch(batch, batch_idx, "val", self.val_beam_size)

    def on_validation_epoch_end(self) -> None:
        self._finish_epoch("val")

    def on_test_epoch_start(self) -> None:
        self._decoded = []

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate_batch(batch, batch_idx, "test", self.test_beam_size)

    def on_test_epoch_end(self) -> None:
        self._finish_epoch("test")
