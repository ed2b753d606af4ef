"""Run ``lstm-apps`` commands: in this process (fast) or in a child process (the real thing)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import lightning as L
from hydra.core.global_hydra import GlobalHydra

# Train a couple of batches and validate/test on one: enough to write a checkpoint.
FEW = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
]


def run_cli(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """Run ``lstm-apps`` for real, in a child process, offline."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "lstm_apps.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_cli_with_probe(
    args: list[str], cwd: Path, probe_source: str, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """``run_cli`` with ``probe_source`` importable as module ``probe`` (a callback to add with
    ``+callbacks.probe._target_=probe.Probe``) and ``PROBE_DIR`` = ``cwd`` for what it writes."""
    (cwd / "probe.py").write_text(probe_source)
    saved = {key: os.environ.get(key) for key in ("PYTHONPATH", "PROBE_DIR")}
    os.environ["PYTHONPATH"] = f"{cwd}{os.pathsep}{saved['PYTHONPATH'] or ''}"
    os.environ["PROBE_DIR"] = str(cwd)
    try:
        return run_cli(args, cwd=cwd, timeout=timeout)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_main(args: list[str]) -> int:
    """Run ``lstm-apps ARGS`` in this process through the console script's ``main``; return its exit code.

    Saves a child process (seconds of imports) where the command line itself is not under test,
    yet goes through the same override checks and Hydra composition. Not for ``trainer=ddp*``:
    Lightning would start its workers by re-running this process's command line.
    """
    from lstm_apps.cli.main import main

    saved = list(sys.argv)
    GlobalHydra.instance().clear()
    try:
        main(args)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.argv = saved
        GlobalHydra.instance().clear()
    return 0


def run_in_process(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``run_main`` from ``cwd`` with its output captured: a drop-in for ``run_cli`` that saves the
    child process's start-up (seconds of imports) where the process boundary is not under test."""
    out, err = io.StringIO(), io.StringIO()
    here = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run_main(args)
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(["lstm-apps", *args], code, out.getvalue(), err.getvalue())


class SignalAt(L.Callback):
    """Sends this process a signal after a given training batch, as a cluster preempting it would."""

    def __init__(self, epoch: int, batch: int, signum: int = signal.SIGTERM) -> None:
        self.epoch, self.batch, self.signum = epoch, batch, signum

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if (trainer.current_epoch, batch_idx) == (self.epoch, self.batch):
            os.kill(os.getpid(), self.signum)
