"""Validates the final training step when it falls between two validations.

Lightning validates at the end of an epoch or every ``val_check_interval`` batches; a run whose
``max_steps`` falls elsewhere (a large corpus, step-based training), or whose last epoch ends
between two step-based validations, would end without a score for its final weights, and
without the monitored checkpoint that ``test_after_fit`` tests. Asking the trainer to stop at
that step makes Lightning's own loop validate it (validation runs when a stop is requested), so
checkpoints, early stopping and schedulers see it as usual.
"""

from __future__ import annotations

from typing import Any

import lightning as L


def is_final_step(trainer: L.Trainer, batch_idx: int) -> bool:
    """Whether training ends after this batch: ``max_steps`` reached, or the last epoch's last batch."""
    if trainer.max_steps > 0 and trainer.global_step >= trainer.max_steps:
        return True
    last_epoch = trainer.max_epochs is not None and trainer.current_epoch + 1 >= trainer.max_epochs > 0
    return last_epoch and batch_idx + 1 >= trainer.num_training_batches


class ValidateFinalStep(L.Callback):
    """At the batch that ends training: request the stop, so the loop validates that step."""

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if is_final_step(trainer, batch_idx):
            trainer.should_stop = True
