"""Validates once more when ``trainer.max_steps`` ends training between two validations.

Lightning validates at the end of an epoch or every ``val_check_interval`` batches; a run whose
``max_steps`` falls elsewhere (a large corpus, step-based training) would end without a score
for its final weights, and without the monitored checkpoint that ``test_after_fit`` tests.
Asking the trainer to stop at that step makes Lightning's own loop validate it (validation runs
when a stop is requested), so checkpoints, early stopping and schedulers see it as usual.
"""

from __future__ import annotations

from typing import Any

import lightning as L


class ValidateAtMaxSteps(L.Callback):
    """At the optimiser step that reaches ``max_steps``: request the stop, so the loop validates."""

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.max_steps > 0 and trainer.global_step >= trainer.max_steps:
            trainer.should_stop = True
