"""Step-based training: ``max_steps`` inside an epoch, validation every N batches, early stopping
and plateau schedulers following those validations, step schedulers counting ``max_steps``."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch

from helpers.config import compose_config
from lstm_apps.apps.textgen.tiny import tiny_textgen_overrides, write_tiny_corpus
from lstm_apps.pipeline.train import train

EPOCH = 7  # training batches per epoch (trainer.limit_train_batches)


def _overrides(tmp_path: Path, *extra: str) -> list[str]:
    corpus = write_tiny_corpus(tmp_path / "data")
    base = [o for o in tiny_textgen_overrides(corpus) if not o.startswith("callbacks=")]
    sizes = [
        "data.batch_size=2",
        "data.bptt=8",
        f"trainer.limit_train_batches={EPOCH}",
        "trainer.limit_val_batches=2",
    ]
    return [*base, "callbacks=minimal", *sizes, "scheduler=none", *extra]


def _run(tmp_path: Path, *extra: str) -> tuple[dict[str, float], Path]:
    run = tmp_path / "run"
    cfg = compose_config("train", _overrides(tmp_path, *extra), run)
    return train(cfg), run / "checkpoints"


def _steps(folder: Path) -> list[int]:
    return sorted(int(p.stem.split("step")[1]) for p in folder.glob("epoch*-step*.ckpt"))


def test_max_steps_inside_the_first_epoch_validates_checkpoints_and_tests(tmp_path: Path) -> None:
    metrics, checkpoints = _run(tmp_path, "trainer.max_steps=3", "trainer.max_epochs=5")
    assert 3 < EPOCH
    assert _steps(checkpoints) == [3], "the final step was validated and checkpointed"
    assert "val/loss" in metrics and "test/loss" in metrics, "validated, then tested after fit"
    assert (checkpoints / "last.ckpt").exists()


def test_max_steps_without_any_validation_tests_the_last_checkpoint(tmp_path: Path) -> None:
    # Validation only every 2nd epoch: none runs before max_steps; the run still ends and tests.
    metrics, checkpoints = _run(tmp_path, "trainer.max_steps=3", "trainer.check_val_every_n_epoch=2")
    assert _steps(checkpoints) == []
    assert "val/loss" not in metrics
    assert "test/loss" in metrics, "last.ckpt tested"


def test_validation_every_n_steps_across_epochs(tmp_path: Path) -> None:
    extra = ("trainer.val_check_interval=5", "trainer.check_val_every_n_epoch=null", "trainer.max_steps=22")
    _, checkpoints = _run(
        tmp_path, *extra, "callbacks.model_checkpoint.save_top_k=-1", "trainer.max_epochs=-1"
    )
    payload = torch.load(checkpoints / "last.ckpt", map_location="cpu", weights_only=True)
    assert payload["epoch"] == 22 // EPOCH, f"the run crossed epochs of {EPOCH} batches"
    assert _steps(checkpoints) == [5, 10, 15, 20, 22], "every 5 batches across epochs, and the final step"


def test_early_stopping_ends_the_run_in_the_middle_of_an_epoch(tmp_path: Path) -> None:
    # min_delta no loss can reach: the first validation sets the best, the next one stops the run.
    extra = ("trainer.val_check_interval=2", "trainer.check_val_every_n_epoch=null", "trainer.max_epochs=5")
    _, checkpoints = _run(
        tmp_path,
        *extra,
        "callbacks=default",
        "callbacks.progress_bar=null",
        "callbacks.model_summary=null",
        "trainer.enable_progress_bar=false",
        "callbacks.early_stopping.patience=0",
        "callbacks.early_stopping.min_delta=100",
    )
    payload = torch.load(checkpoints / "last.ckpt", map_location="cpu", weights_only=True)
    assert payload["global_step"] == 4 and payload["epoch"] == 0, "stopped at the second validation"


class _SchedulerAtEnd(L.Callback):
    """Records the plateau scheduler's state when fitting ends (after the final validation's step)."""

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        scheduler = trainer.lr_scheduler_configs[0].scheduler
        self.state = scheduler.state_dict()
        self.lr = trainer.optimizers[0].param_groups[0]["lr"]


@pytest.mark.parametrize(
    "extra", [(), ("trainer.val_check_interval=3", "trainer.check_val_every_n_epoch=null")]
)
def test_plateau_scheduler_steps_after_each_validation(tmp_path: Path, extra: tuple[str, ...]) -> None:
    # factor 0.5 with patience 0 and an unreachable min improvement: each validation after the first
    # halves the lr (the first sets the best).
    overrides = [
        *(o for o in _overrides(tmp_path, *extra) if o != "scheduler=none"),
        "scheduler=plateau",
        "scheduler.factory.patience=0",
        "+scheduler.factory.threshold=100",
        "+scheduler.factory.threshold_mode=abs",
        "optimizer.lr=0.01",
        *(("trainer.max_steps=9", "trainer.max_epochs=5") if extra else ("trainer.max_epochs=2",)),
    ]
    recorder = _SchedulerAtEnd()
    train(compose_config("train", overrides, tmp_path / "run"), extra_callbacks=[recorder])
    validations = 3 if extra else 2  # steps 3, 6, 9, or the ends of epochs 0 and 1
    assert recorder.state["last_epoch"] == validations, "stepped once per validation"
    assert recorder.lr == pytest.approx(0.01 * 0.5 ** (validations - 1))


@pytest.mark.parametrize("scheduler,argument", [("cosine", "T_max"), ("onecycle", "total_steps")])
def test_step_schedulers_count_max_steps(tmp_path: Path, scheduler: str, argument: str) -> None:
    overrides = [
        *(o for o in _overrides(tmp_path) if o != "scheduler=none"),
        f"scheduler={scheduler}",
        "trainer.max_steps=5",
        "trainer.max_epochs=3",
    ]
    train(compose_config("train", overrides, tmp_path / "run"))
    payload = torch.load(
        tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False
    )
    (state,) = payload["lr_schedulers"]
    assert state[argument] == 5
