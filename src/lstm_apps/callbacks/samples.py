"""Shows what a model produces (generated text, translations, attention maps …) in TensorBoard."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger

from lstm_apps.pipeline.app_module import AppModule


class LogValidationSamples(L.Callback):
    """After validation epochs (not the sanity check), log the app's samples, images and sounds; after
    testing, the app's evaluation report (per-class table).

    Texts are logged every ``every_n_epochs`` epochs. Images are drawn with matplotlib (tens of ms
    each, in the training process), so they (and sounds) have their own interval, ``images_every_n_epochs``
    (``None``: with the texts); an app whose epochs are short sets it sparse. Both count from
    epoch 0, so a broken plot shows up in the first epoch, not after N."""

    def __init__(self, every_n_epochs: int = 1, images_every_n_epochs: int | None = None) -> None:
        self.every_n_epochs = max(1, every_n_epochs)
        self.images_every_n_epochs = max(1, images_every_n_epochs or self.every_n_epochs)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # on_validation_end, not on_validation_epoch_end: callbacks' epoch-end hooks run before the
        # module's, where apps score the epoch (confusion matrix, forecasts to plot).
        if trainer.sanity_checking or not trainer.is_global_zero or not isinstance(pl_module, AppModule):
            return
        writers = _tensorboard_writers(trainer)
        if not writers:
            return
        epoch, step = trainer.current_epoch, trainer.global_step
        # Only asked for when due: an app draws its images inside validation_images.
        texts = pl_module.validation_samples() if epoch % self.every_n_epochs == 0 else {}
        images = pl_module.validation_images() if epoch % self.images_every_n_epochs == 0 else {}
        sounds = pl_module.validation_audio() if epoch % self.images_every_n_epochs == 0 else {}
        for writer in writers:
            for tag, text in texts.items():
                writer.add_text(tag, text, global_step=step)
            for tag, image in images.items():
                writer.add_image(tag, image, global_step=step)
            for tag, (samples, rate) in sounds.items():
                writer.add_audio(tag, samples.unsqueeze(0), global_step=step, sample_rate=rate)

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
