"""One log line per epoch, so batch jobs and log files show progress without a progress bar."""

from __future__ import annotations

import logging
import time

import lightning as L

log = logging.getLogger("lstm_apps")


class EpochSummary(L.Callback):
    """Logs ``epoch N (Ts, step S): train/loss=… val/loss=… val/ppl=…`` after each epoch.

    Lightning runs this callback's ``on_train_epoch_end`` before the module's, and the epoch's
    metrics reach ``callback_metrics`` after both; so the line is written when they are all
    there: when the next epoch starts, or when training ends.
    """

    def __init__(self) -> None:
        self._started = time.perf_counter()
        self._finished: tuple[int, float, int] | None = None  # epoch, seconds, step

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer)
        self._started = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._finished = (trainer.current_epoch, time.perf_counter() - self._started, trainer.global_step)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer)

    def _write(self, trainer: L.Trainer) -> None:
        finished, self._finished = self._finished, None
        if finished is None or not trainer.is_global_zero:
            return
        metrics = {
            k: float(v)
            for k, v in trainer.callback_metrics.items()
            if k.startswith(("train/", "val/")) and getattr(v, "numel", lambda: 1)() == 1
        }
        shown = " ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()))
        epoch, seconds, step = finished
        log.info("epoch %d (%.1fs, step %d): %s", epoch, seconds, step, shown)
