"""Progress bars that show the training loss without reading it back from the device every step.

Lightning converts every ``prog_bar=True`` value to a Python number (``.item()``) after each
training batch, and its bars ask for those values after each batch too: on a GPU the host then
waits for the device at every step and the two stop overlapping. So the apps log ``train/loss``
for the loggers, at logging steps (``AppModule.log_training``), and these bars read it — and the other
bar metrics — at logging steps (``trainer.log_every_n_steps``), at the first batch of an epoch
and outside training batches, showing the last values in between; the bar itself advances every
batch.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ProgressBar, RichProgressBar, TQDMProgressBar

from lstm_apps.pipeline.app_module import is_logging_step


class _MetricsAtLogSteps(ProgressBar):
    """Mixin for a Lightning progress bar (listed before it): see the module docstring.
    ``step_metrics``: callback metrics logged per step that the bar shows (read at logging steps)."""

    def __init__(self, *args: Any, step_metrics: tuple[str, ...] = ("train/loss",), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.step_metrics = tuple(step_metrics)
        self._between_log_steps = False
        self._shown: dict[str, Any] | None = None

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        # After the optimizer step: global_step - 1 is the step just run.
        self._between_log_steps = batch_idx > 0 and not is_logging_step(trainer, trainer.global_step - 1)
        try:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        finally:
            self._between_log_steps = False

    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        if self._between_log_steps and self._shown is not None:
            return self._shown
        shown: dict[str, Any] = dict(super().get_metrics(trainer, pl_module))
        logged = trainer.callback_metrics
        for name in self.step_metrics:
            value = logged.get(name)
            if value is not None and value.numel() == 1:
                shown[name] = float(value)
        self._shown = shown
        return shown


class RichBar(_MetricsAtLogSteps, RichProgressBar):
    """Lightning's ``RichProgressBar`` with the training loss read at logging steps only."""


class TQDMBar(_MetricsAtLogSteps, TQDMProgressBar):
    """Lightning's ``TQDMProgressBar`` with the training loss read at logging steps only."""
