"""resume=auto: a run killed with SIGKILL and started again with the same command continues from
its newest checkpoint, in the same run directory, and ends where an uninterrupted run ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from conftest import run_cli
from test_tagger import tiny_tagger_overrides, write_conll

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


def test_sigkill_then_same_command_resumes_and_ends_like_an_uninterrupted_run(tmp_path: Path) -> None:
    data = write_conll(tmp_path / "data", repeat=40)
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    reference.mkdir(), killed.mkdir()
    done = run_cli(_command(data), cwd=reference)
    assert done.returncode == 0, done.stderr[-2000:]

    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen([sys.executable, "-m", "lstm_apps.cli.main", *_command(data)], cwd=killed,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
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
