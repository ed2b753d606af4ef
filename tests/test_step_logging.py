"""Training values reach the loggers at logging steps, as the mean since the previous one, and the
progress bar shows the loss without reading it back every step."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from helpers.config import compose_config
from helpers.tiny import tiny_overrides
from lstm_apps.pipeline.app_module import AppModule
from lstm_apps.pipeline.train import train


def test_logged_value_is_the_mean_since_the_last_logging_step() -> None:
    module = AppModule()
    logged: list[tuple[str, float]] = []
    module.log = lambda name, value, **kwargs: logged.append((name, float(value)))  # type: ignore[method-assign]
    module._trainer = SimpleNamespace(
        log_every_n_steps=3, global_step=0, should_stop=False, fast_dev_run=False
    )  # type: ignore[assignment]
    for step, loss in enumerate([1.0, 2.0, 6.0, 10.0, 20.0]):
        module._trainer.global_step = step  # type: ignore[union-attr]
        module.log_training(4, loss=torch.tensor(loss), other=torch.tensor(-loss))
    assert logged == [("train/loss", 3.0), ("train/other", -3.0)], "steps 0-2 averaged, steps 3-4 pending"


def test_training_loss_reaches_the_logger_at_logging_steps(tmp_path: Path) -> None:
    overrides = tiny_overrides("tagger", tmp_path) + [
        "logger=csv",
        "trainer.log_every_n_steps=3",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=9",
        "trainer.limit_val_batches=1",
        "test_after_fit=false",
        "data.batch_size=2",
    ]
    train(compose_config("train", overrides, tmp_path / "run"))
    rows = list(csv.DictReader(next((tmp_path / "run").rglob("metrics.csv")).open()))
    steps = [int(row["step"]) for row in rows if row.get("train/loss")]
    assert steps == [2, 5, 8]
    assert all(float(row["train/loss"]) > 0 for row in rows if row.get("train/loss"))


def test_progress_bar_reads_the_loss_only_at_logging_steps(monkeypatch: Any) -> None:
    from lightning.pytorch.callbacks import RichProgressBar

    from lstm_apps.callbacks.progress import RichBar

    reads: list[int] = []
    monkeypatch.setattr(RichProgressBar, "get_metrics", lambda self, trainer, module: {})
    monkeypatch.setattr(
        RichProgressBar, "on_train_batch_end", lambda self, *args: self.get_metrics(*args[:2])
    )
    bar = RichBar()

    class Loss:
        def numel(self) -> int:
            return 1

        def __float__(self) -> float:
            reads.append(trainer.global_step)
            return 0.5

    trainer = SimpleNamespace(
        log_every_n_steps=4,
        global_step=0,
        callback_metrics={"train/loss": Loss()},
        should_stop=False,
        fast_dev_run=False,
    )
    for batch_idx in range(10):
        trainer.global_step = batch_idx + 1  # after the optimizer step
        bar.on_train_batch_end(trainer, None, None, None, batch_idx)  # type: ignore[arg-type]
    # The epoch's first batch, then logging steps 4 and 8; the shown value is kept in between.
    assert reads == [1, 4, 8]
    assert bar.get_metrics(trainer, None)["train/loss"] == 0.5  # type: ignore[arg-type]
