"""One log line per epoch, so batch jobs and log files show progress without a progress bar."""

from __future__ import annotations

import logging
import time

import lightning as L

log = logging.getLogger("lstm_apps")


class EpochSummary(L.Callback):
    """Logs ``epoch N (Ts, step S): train/loss=… val/loss=… val/ppl=…`` at the end of each epoch."""

    def __init__(self) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Validation has run by now, and this hook precedes the checkpoint/early-stopping ones:
        # the line shows this epoch's validation metrics, not the previous epoch's.
        if not trainer.is_global_zero:
            return
        metrics = {
            k: float(v)
            for k, v in trainer.callback_metrics.items()
            if k.startswith(("train/", "val/")) and getattr(v, "numel", lambda: 1)() == 1
        }
        shown = " ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()))
        seconds = time.perf_counter() - self._started
        log.info("epoch %d (%.1fs, step %d): %s", trainer.current_epoch, seconds, trainer.global_step, shown)
