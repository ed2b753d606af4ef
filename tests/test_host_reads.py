"""Steady-state training steps never read device values into Python (each read is a host-device
synchronisation on a GPU): counted on any machine, and enforced by CUDA itself where it exists."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig

from helpers.config import compose_config
from helpers.tiny import tiny_setup
from lstm_apps.diagnostics.host_reads import counting_host_reads, counting_window, cuda_sync_error_window
from lstm_apps.pipeline.train import train
from lstm_apps.registry import apps

APPS = list(apps())
# The default callbacks and logger (progress bar, checkpoints, early stopping, samples, LR
# monitor …), as a user runs them; steps 4-7 are not logging steps (those are 9, 19, …).
STEADY = [
    "callbacks=default",
    "logger=tensorboard",
    "trainer.enable_progress_bar=true",
    "trainer.log_every_n_steps=10",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=10",
    "trainer.limit_val_batches=1",
    "trainer.num_sanity_val_steps=0",
    "test_after_fit=false",
    "data.batch_size=2",
]


def steady_config(app: str, folder: Path, extra: list[str] | None = None) -> DictConfig:
    """The app's tiny test setup with at least 9 training batches (its ``steady`` overrides where
    batches of 2 are too few) and the default callbacks."""
    setup = tiny_setup(app, folder)
    overrides = [*setup.overrides, *STEADY, *setup.steady, *(extra or [])]
    return compose_config("train", overrides, folder / "run")


@pytest.mark.parametrize("app", APPS)
def test_each_tiny_setup_has_the_steps_counted_below(tmp_path: Path, app: str) -> None:
    import hydra

    data = hydra.utils.instantiate(steady_config(app, tmp_path).data)
    data.prepare_data()
    data.setup("fit")
    assert len(data.train_dataloader()) >= 9, f"{app}: set Tiny.steady to give 9 training batches or more"


@pytest.mark.parametrize("app", APPS)
def test_training_steps_make_no_host_reads(tmp_path: Path, app: str) -> None:
    cfg = steady_config(app, tmp_path)
    with counting_host_reads() as counter:
        window = counting_window(counter, first=4, last=7)
        train(cfg, extra_callbacks=[window])
    assert window.steps == 4, "the counted window covers steps 4-7 of one epoch"
    assert counter.total() == 0, f"host reads in training steps 4-7:\n{counter.report()}"


def test_the_counter_sees_a_read_in_a_training_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard above can fail: a model that logs its loss to the progress bar is caught."""
    from lstm_apps.apps.tagger.model import TaggerModel

    def chatty_step(self: TaggerModel, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.loss(self(batch), batch["tags"], self.mask(batch))
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["words"].size(0))
        return loss

    monkeypatch.setattr(TaggerModel, "training_step", chatty_step)
    cfg = steady_config("tagger", tmp_path)
    with counting_host_reads() as counter:
        train(cfg, extra_callbacks=[counting_window(counter, first=4, last=7)])
    assert counter.total() >= 4 and any("apply_func.py" in where for where in counter.reads)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("app", APPS)
def test_training_steps_never_synchronise_with_the_gpu(tmp_path: Path, app: str) -> None:
    gpu = ["trainer.accelerator=gpu", "trainer.devices=1"]
    cfg = steady_config(app, tmp_path, gpu)
    window = cuda_sync_error_window(first=4, last=7)
    train(cfg, extra_callbacks=[window])  # a synchronisation inside the window raises
    assert window.steps == 4
