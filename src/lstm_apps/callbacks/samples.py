"""Shows what a model produces (generated text, translations, attention maps …) in TensorBoard."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger

from lstm_apps.pipeline.app_module import AppModule


class LogValidationSamples(L.Callback):
    """After each validation epoch (not the sanity check), log the app's samples and images;
    after testing, the app's evaluation report (per-class table)."""

    def __init__(self, every_n_epochs: int = 1) -> None:
        self.every_n_epochs = max(1, every_n_epochs)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # on_validation_end, not on_validation_epoch_end: callbacks' epoch-end hooks run before the
        # module's, where apps score the epoch (confusion matrix, forecasts to plot).
        if trainer.sanity_checking or not trainer.is_global_zero or not isinstance(pl_module, AppModule):
            return
        if trainer.current_epoch % self.every_n_epochs:
            return
        writers = _tensorboard_writers(trainer)
        if not writers:
            return
        for tag, text in pl_module.validation_samples().items():
            for writer in writers:
                writer.add_text(tag, text, global_step=trainer.global_step)
        for tag, image in pl_module.validation_images().items():
            for writer in writers:
                writer.add_image(tag, image, global_step=trainer.global_step)

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # on_test_end, not on_test_epoch_end: callbacks run before the module's epoch-end hook,
        # which is where the report is computed.
        if not trainer.is_global_zero or not isinstance(pl_module, AppModule):
            return
        report = pl_module.evaluation_report()
        for writer in _tensorboard_writers(trainer) if report else []:
            writer.add_text("test/report", report, global_step=trainer.global_step)


def _tensorboard_writers(trainer: L.Trainer) -> list:
    return [lg.experiment for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]
