"""Makes the signals clusters send before stopping a job end a run the way SIGTERM does, and
requeues a SLURM job that was told its time is up.

Lightning turns SIGTERM into a clean stop at the next batch, and the every-epoch ``last.ckpt``
callback saves on that stop (mid-epoch, resumable). SIGUSR1 and SIGUSR2 — SLURM's and
submitit's "time is nearly up" signals — would otherwise kill the process without a checkpoint.
In a SLURM job, ``requeue_signal`` (USR1 by default, what ``sbatch --signal=USR1@120`` sends)
also asks for the job to run again: after the checkpoint is written, global rank 0 runs
``scontrol requeue <job id>`` and the process exits; the requeued job, the same command with the
same job id, continues with ``resume=auto``. Lightning's own SLURM requeue is switched off for
this (it saves from inside the signal handler and does not stop). A handler someone else
installed first (submitit's, on USR2) is left alone.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import lightning as L

from lstm_apps.errors import UserError

FORWARDED = tuple(getattr(signal, name) for name in ("SIGUSR1", "SIGUSR2") if hasattr(signal, name))
# What signal.signal() returns: None for a handler that was not installed from Python.
Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def _as_sigterm(signum: int, frame: FrameType | None) -> None:
    signal.raise_signal(signal.SIGTERM)


def signal_number(name: str | None, key: str = "callbacks.preemption.requeue_signal") -> int | None:
    """``USR1``/``SIGUSR1``/``10`` -> the signal's number; None/"none" -> None."""
    if name is None or str(name).lower() in ("none", "null", ""):
        return None
    text = str(name).upper()
    if text.isdigit():
        return int(text)
    number = getattr(signal, text if text.startswith("SIG") else f"SIG{text}", None)
    if not isinstance(number, int):
        raise UserError(f"{key}: {name!r} is not a signal name (e.g. USR1, USR2, TERM) or number")
    return int(number)


def slurm_job_id() -> str | None:
    """The id ``scontrol requeue`` takes: ``<array job>_<task>`` for an array task, else the job id."""
    array_job, array_task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    job = f"{array_job}_{array_task}" if array_job and array_task else os.environ.get("SLURM_JOB_ID")
    return job if job and re.fullmatch(r"[0-9_]+", job) else None


class PreemptionSignals(L.Callback):
    """Forwards SIGUSR1/SIGUSR2 to SIGTERM while training, where nothing else handles them; in a
    SLURM job, ``requeue_signal`` also requeues the job once the stop's checkpoint is written."""

    def __init__(self, requeue_signal: str | None = "USR1") -> None:
        self.requeue_signal = signal_number(requeue_signal)
        self.requeue_requested = False
        self._installed: dict[int, Handler] = {}

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        in_slurm = slurm_job_id() is not None
        signals = set(FORWARDED) | ({self.requeue_signal} if self.requeue_signal else set())
        for signum in sorted(signals):
            if signal.getsignal(signum) in (signal.SIG_DFL, None):
                handler = (
                    self._requeue_then_stop if in_slurm and signum == self.requeue_signal else _as_sigterm
                )
                self._installed[signum] = signal.signal(signum, handler)

    def _requeue_then_stop(self, signum: int, frame: FrameType | None) -> None:
        self.requeue_requested = True
        signal.raise_signal(signal.SIGTERM)

    def requeue_if_asked(self, trainer: L.Trainer) -> None:
        """After the stop (its checkpoint written): rank 0 requeues the SLURM job, once."""
        if not self.requeue_requested:
            return
        self.requeue_requested = False
        job = slurm_job_id()
        if not trainer.is_global_zero or job is None:
            return
        try:
            done = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True)
            failed = done.returncode != 0 and (done.stderr.strip() or f"exit status {done.returncode}")
        except FileNotFoundError:
            failed = "scontrol not found"
        message = f"could not requeue SLURM job {job}: {failed}" if failed else f"requeued SLURM job {job}"
        print(f"[lstm-apps] {message}", file=sys.stderr, flush=True)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.restore_handlers()

    def restore_handlers(self) -> None:
        """Put back the handlers found at the start of the fit (once)."""
        for signum, previous in self._installed.items():
            # A handler not installed from Python (None) cannot be put back, and signal.signal()
            # refuses None: the default takes its place.
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        self._installed.clear()


def restore_after_fit(trainer: L.Trainer) -> None:
    """After ``fit`` however it ended: the preemption callbacks' handlers are put back.

    A fit stopped by a signal or an error gets no teardown call, and Lightning then puts back the
    handlers it found when the fit started — ours, installed by then. Left in place, a later fit
    in the same process (a search's next trial, a notebook) would find them and install none of
    its own, its requeue signal stopping without requeueing."""
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        if isinstance(callback, PreemptionSignals):
            callback.restore_handlers()


def requeue_after_stop(trainer: L.Trainer) -> None:
    """Called when ``fit`` ended by a signal: the preemption callbacks requeue if they were asked."""
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        if isinstance(callback, PreemptionSignals):
            callback.requeue_if_asked(trainer)
