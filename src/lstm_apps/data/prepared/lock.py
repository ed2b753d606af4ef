"""Data preparation by one process at a time, before any Trainer exists.

The pipeline needs the data's sizes to build the model, so every process of a job (torchrun or
srun tasks, Lightning's spawned ranks) calls ``prepare_data()`` before Lightning's own
once-per-node call and its barrier. An exclusive lock on a file in the data folder lets the first
process prepare while the others wait; they then find the data ready and only check it.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".prepare.lock"


@contextmanager
def exclusive(folder: str | Path) -> Iterator[None]:
    """Hold the data folder's preparation lock (blocking until other processes let go)."""
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    with open(path / LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_once(folder: str | Path, prepare: Callable[[], None]) -> None:
    """Run ``prepare`` under the lock of ``folder`` (``paths.data_dir``)."""
    with exclusive(folder):
        prepare()
