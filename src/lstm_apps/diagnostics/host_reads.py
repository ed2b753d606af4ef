"""Count the places that read a tensor's value into Python during training steps.

On a GPU each such read (``.item()``, ``float(t)``, ``if t:``, ``.cpu()`` …) makes the host wait
until the device has caught up, so host and device stop overlapping. On a CPU the same calls are
cheap, which is why they creep in unnoticed: this counter finds them on any machine, so a test
without a GPU can keep steady-state training steps free of them.

Calls made by torch itself (e.g. ``pack_padded_sequence`` reading host lengths) and by the data
pipeline (collating a batch from host tensors, before it reaches the device) are not counted: the
first are torch's business and show up under ``torch.cuda.set_sync_debug_mode`` on a GPU, the
second never touch device memory.
"""

from __future__ import annotations

import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning as L
import torch

# The Tensor methods that hand a value to Python (and so wait for the device).
READ_METHODS = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__")

_TORCH_DIR = str(Path(torch.__file__).parent)
# Frames under these functions belong to fetching a batch (host tensors, no device involved).
_DATA_FETCH = ("torch/utils/data/", "lightning/pytorch/loops/fetchers.py")


class HostReadCounter:
    """Records ``file:line`` of every read while ``active``; see the module docstring."""

    def __init__(self) -> None:
        self.active = False
        self.reads: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def record(self, method: str) -> None:
        if not self.active:
            return
        frames = traceback.extract_stack()[:-2]  # drop this function and the patched method
        if not frames or frames[-1].filename.startswith(_TORCH_DIR):
            return  # torch's own code reading a value
        if any(part in f.filename for f in frames for part in _DATA_FETCH):
            return  # collating a batch on the host
        caller = frames[-1]
        where = f"{caller.filename}:{caller.lineno} ({method})"
        self.reads[where] += 1
        self.examples.setdefault(where, "".join(traceback.format_list(frames[-6:])))

    def total(self) -> int:
        return sum(self.reads.values())

    def report(self) -> str:
        return "\n".join(f"{n} x {where}\n{self.examples[where]}" for where, n in self.reads.most_common())


@contextmanager
def counting_host_reads() -> Iterator[HostReadCounter]:
    """Patch the Tensor read methods for the duration; the counter starts inactive."""
    counter = HostReadCounter()
    originals: dict[str, Callable[..., Any]] = {name: getattr(torch.Tensor, name) for name in READ_METHODS}

    def wrap(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            counter.record(name)
            return original(self, *args, **kwargs)

        return patched

    try:
        for name, original in originals.items():
            setattr(torch.Tensor, name, wrap(name, original))
        yield counter
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)


class StepWindow(L.Callback):
    """Calls ``opened()`` at the start of training batch ``first`` (of the first epoch) and
    ``closed()`` at the start of batch ``last + 1``, so that the hooks running after batch
    ``last`` (other callbacks, the progress bar) are inside the window; an epoch that ends first
    closes it too. ``steps`` counts the batches that started inside the window."""

    def __init__(self, first: int, last: int, opened: Callable[[], None], closed: Callable[[], None]) -> None:
        self.first, self.last = first, last
        self.opened, self.closed = opened, closed
        self.steps = 0
        self._open = False

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if trainer.current_epoch == 0 and batch_idx == self.first and not self._open:
            self._open = True
            self.opened()
        elif self._open and batch_idx == self.last + 1:
            self._close()
        if self._open:
            self.steps += 1

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._close()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._close()

    def _close(self) -> None:
        if self._open:
            self._open = False
            self.closed()


def counting_window(counter: HostReadCounter, first: int = 4, last: int = 7) -> StepWindow:
    """A ``StepWindow`` that counts host reads during training steps ``first``..``last``."""
    return StepWindow(
        first, last, lambda: setattr(counter, "active", True), lambda: setattr(counter, "active", False)
    )


def cuda_sync_error_window(first: int = 4, last: int = 7) -> StepWindow:
    """A ``StepWindow`` in which any host-device synchronisation raises (CUDA only)."""
    return StepWindow(
        first,
        last,
        lambda: torch.cuda.set_sync_debug_mode("error"),
        lambda: torch.cuda.set_sync_debug_mode("default"),
    )


def main() -> None:  # pragma: no cover - a command for people
    """``python -m lstm_apps.diagnostics.host_reads app=tagger …``: reads per step, by place."""
    from hydra import compose, initialize_config_dir

    from lstm_apps.paths import config_dir
    from lstm_apps.pipeline.run_name import register
    from lstm_apps.pipeline.train import train

    register()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "trainer.max_epochs=1",
                "trainer.limit_train_batches=9",
                "trainer.limit_val_batches=2",
                "test_after_fit=false",
                "paths.output_dir=${paths.log_dir}/host_reads",
                *sys.argv[1:],
            ],
        )
    with counting_host_reads() as counter:
        window = counting_window(counter)
        train(cfg, extra_callbacks=[window])
    print(
        f"{counter.total() / max(window.steps, 1):.2f} host reads per training step "
        f"(steps 4-7, outside torch and the data pipeline)"
    )
    print(counter.report())


if __name__ == "__main__":  # pragma: no cover
    main()
