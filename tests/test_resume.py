"""resume=auto: a run killed with SIGKILL and started again with the same command continues from
its newest checkpoint, in the same run directory, and ends where an uninterrupted run ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch

from helpers.config import compose_config
from helpers.running import SignalAt, run_cli
from lstm_apps.apps.tagger.tiny import tiny_tagger_overrides, write_conll
from lstm_apps.apps.textgen.tiny import tiny_textgen_overrides, write_tiny_corpus
from lstm_apps.pipeline.train import train

EPOCHS = 6


def _command(path: Path) -> list[str]:
    overrides = [o for o in tiny_tagger_overrides(path) if not o.startswith("optimizer.lr")]
    return [
        "train",
        *overrides,
        "resume=auto",
        f"trainer.max_epochs={EPOCHS}",
        "callbacks.early_stopping=null",
    ]


def _final_step(root: Path) -> tuple[Path, int, int]:
    (run,) = list((root / "runs" / "tagger").iterdir())
    payload = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    return run, payload["global_step"], payload["epoch"]


@pytest.mark.slow
def test_sigkill_then_same_command_resumes_and_ends_like_an_uninterrupted_run(tmp_path: Path) -> None:
    data = write_conll(tmp_path / "data", repeat=40)
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    reference.mkdir(), killed.mkdir()
    done = run_cli(_command(data), cwd=reference)
    assert done.returncode == 0, done.stderr[-2000:]

    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lstm_apps.cli.main", *_command(data)],
        cwd=killed,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.time() + 240
    log = None
    while time.time() < deadline and process.poll() is None:
        log = next(killed.glob("runs/tagger/*/train.log"), None)
        if log is not None and "epoch 1 (" in log.read_text():
            break
        time.sleep(0.05)
    assert process.poll() is None, "the run must still be training when it is killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert log is not None and f"epoch {EPOCHS - 1} (" not in log.read_text()

    again = run_cli(_command(data), cwd=killed)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "[lstm-apps] resuming from" in again.stdout
    run, step, epoch = _final_step(killed)
    _, reference_step, reference_epoch = _final_step(reference)
    assert (step, epoch) == (reference_step, reference_epoch)
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) >= 2, (
        "one TensorBoard run, continued"
    )
    resumed_epochs = [
        line for line in run.joinpath("train.log").read_text().splitlines() if "] - epoch 0 (" in line
    ]
    assert len(resumed_epochs) == 1, "finished epochs are not trained again"


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGUSR1])
def test_signal_mid_epoch_writes_a_checkpoint_and_resumes_with_the_remaining_batches(
    tmp_path: Path, signum: int
) -> None:
    data = write_conll(tmp_path / "data", repeat=8)  # 40 sentences, batch 5: 8 batches per epoch
    overrides = [
        *tiny_tagger_overrides(data),
        "resume=auto",
        "trainer.max_epochs=3",
        "callbacks.early_stopping=null",
    ]
    reference = train(compose_config("train", overrides, tmp_path / "reference"))
    cfg = compose_config("train", overrides, tmp_path / "run")
    with pytest.raises(SystemExit):
        train(cfg, [SignalAt(epoch=1, batch=2, signum=signum)])
    saved = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert saved["global_step"] == 8 + 3, "last.ckpt written at the signal, mid-epoch"
    assert saved["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"epoch": 1, "batches_done": 3}]

    trained: list[int] = []

    class Count(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            trained.append(trainer.current_epoch)

    resumed = train(compose_config("train", overrides, tmp_path / "run"), [Count()])
    assert trained.count(1) == 5, "epoch 1 continues with its 5 remaining batches, not all 8 again"
    final = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    reference_ckpt = torch.load(
        tmp_path / "reference" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True
    )
    assert (
        (final["global_step"], final["epoch"])
        == (reference_ckpt["global_step"], reference_ckpt["epoch"])
        == (24, 2)
    )
    assert set(resumed) >= {"val/f1"} and set(reference) >= {"val/f1"}


@pytest.mark.slow
def test_textgen_resumes_mid_epoch_on_its_prepared_store(tmp_path: Path) -> None:
    """Stateful BPTT rows read from the memory-mapped store: a run stopped mid-epoch and started
    again continues with that epoch's remaining windows and ends where an uninterrupted run does."""
    corpus = write_tiny_corpus(tmp_path / "corpus")
    overrides = [
        *tiny_textgen_overrides(corpus),
        "resume=auto",
        "trainer.max_epochs=2",
        "callbacks.early_stopping=null",
    ]
    train(compose_config("train", overrides, tmp_path / "reference"))
    reference = torch.load(
        tmp_path / "reference" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True
    )
    per_epoch = reference["global_step"] // 2
    assert per_epoch >= 4, "the tiny corpus must give a few windows per epoch"
    assert list((tmp_path / "reference" / "data" / "prepared").rglob("manifest.json")), (
        "trained from the store"
    )

    with pytest.raises(SystemExit):
        train(compose_config("train", overrides, tmp_path / "run"), [SignalAt(1, 1, signal.SIGTERM)])
    saved = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert saved["global_step"] == per_epoch + 2

    trained: list[int] = []

    class Count(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            trained.append(trainer.current_epoch)

    train(compose_config("train", overrides, tmp_path / "run"), [Count()])
    assert trained.count(1) == per_epoch - 2, "epoch 1 continues with its remaining windows"
    final = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert (final["global_step"], final["epoch"]) == (reference["global_step"], reference["epoch"])


@pytest.mark.slow
def test_a_fit_stopped_by_a_signal_leaves_no_signal_handler_behind(tmp_path: Path) -> None:
    """Lightning puts back the handlers it found when the fit started, the preemption callback's
    among them; a later fit in the same process (a search's next trial) must find the defaults,
    or its SLURM requeue signal would stop without requeueing."""
    data = write_conll(tmp_path / "data", repeat=8)
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM)}
    overrides = [*tiny_tagger_overrides(data), "trainer.max_epochs=2", "test_after_fit=false"]
    with pytest.raises(SystemExit):
        train(compose_config("train", overrides, tmp_path / "run"), [SignalAt(epoch=1, batch=2)])
    assert {signum: signal.getsignal(signum) for signum in before} == before
