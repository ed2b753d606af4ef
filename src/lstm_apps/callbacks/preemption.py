"""Makes the signals clusters send before stopping a job end a run the way SIGTERM does.

Lightning turns SIGTERM into a clean stop at the next batch, and the every-epoch ``last.ckpt``
callback saves on that stop (mid-epoch, resumable). SIGUSR1 and SIGUSR2 — SLURM's and
submitit's "time is nearly up" signals — would otherwise kill the process without a checkpoint.
A handler someone else installed first (Lightning's own SLURM requeue, submitit's) is left alone.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

import lightning as L

FORWARDED = tuple(getattr(signal, name) for name in ("SIGUSR1", "SIGUSR2") if hasattr(signal, name))
# What signal.signal() returns: None for a handler that was not installed from Python.
Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def _as_sigterm(signum: int, frame: FrameType | None) -> None:
    signal.raise_signal(signal.SIGTERM)


class PreemptionSignals(L.Callback):
    """Forwards SIGUSR1/SIGUSR2 to SIGTERM while training, where nothing else handles them."""

    def __init__(self) -> None:
        self._installed: dict[int, Handler] = {}

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for signum in FORWARDED:
            if signal.getsignal(signum) in (signal.SIG_DFL, None):
                self._installed[signum] = signal.signal(signum, _as_sigterm)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        for signum, previous in self._installed.items():
            # A handler not installed from Python (None) cannot be put back, and signal.signal()
            # refuses None: the default takes its place.
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        self._installed.clear()
