"""What every app's datamodule offers the pipeline: the hand-off of shapes and vocabularies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import lightning as L
import torch
from lightning.fabric.utilities.apply_func import move_data_to_device
from lightning.pytorch.accelerators import CUDAAccelerator
from torch.utils.data import DataLoader, IterableDataset

from lstm_apps.errors import UserError


def stays_on_the_host(key: str) -> bool:
    """Batch entries named ``lengths`` or ``<something>_lengths`` stay on the host when a batch
    moves to the device: sequence lengths, which packing reads on the host (a device copy would
    have to be read back, a wait at every step). An app names its batch keys so; nothing here
    knows them."""
    return key == "lengths" or key.endswith("_lengths")


def move_batch(batch: Any, device: torch.device | str) -> Any:
    """``batch`` on ``device``, except the entries of a dict batch that stay on the host."""
    if not isinstance(batch, dict):
        return move_data_to_device(batch, device)
    kept = {key: value for key, value in batch.items() if stays_on_the_host(key)}
    moved = move_data_to_device({key: value for key, value in batch.items() if key not in kept}, device)
    return {**moved, **kept}


class AppDataModule(L.LightningDataModule):
    """Base class: the data decides the model's sizes and owns what is fitted on the training data.

    After ``setup()`` the pipeline asks for ``handoff()`` (sizes the model is built with) and
    ``fitted_state()``: tokenizers, vocabularies or the forecaster's scaler as JSON strings, stored
    in checkpoints. ``load_fitted_state()`` is called before ``setup()`` when a checkpoint's
    fitted state must be reused instead of fitted anew. What a
    model may ask of its datamodule during validation and test is declared here:
    ``references(split)`` and ``example_input(split, index)``.
    """

    def __init__(self, source: Any = None) -> None:
        super().__init__()
        self.source = source
        self._fitted_state: dict[str, str] | None = None
        self._adopted: dict[str, str] = {}
        self._resume_position: tuple[int, int] | None = None

    def prepare_data(self) -> None:
        """Generate or fetch the source's data if it can: the only place data is written.

        Lightning calls this once per node before ``setup()`` (the other ranks wait); ``train()``
        also calls it in every process, before the model exists. Sources publish their files
        atomically (``data/publish.py``), so processes generating at once leave one whole copy, and
        ``setup()`` afterwards only reads."""
        prepare = getattr(self.source, "prepare", None)
        if prepare is not None:
            prepare()

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        return move_batch(batch, device)

    def load_fitted_state(self, state: dict[str, str]) -> None:
        self._fitted_state = dict(state)

    # The parts of the fitted state that stand alone: a run may take these from a checkpoint and
    # fit the rest (a classifier keeps a language model's tokenizer and learns its own labels).
    adoptable: tuple[str, ...] = ()

    def adopt_fitted_state(self, state: dict[str, str]) -> None:
        """Take ``state`` (some of the ``adoptable`` parts) instead of fitting those parts; the
        others are fitted on the training data as usual (``init_from``, docs/fine-tuning.md)."""
        refused = sorted(set(state) - set(self.adoptable))
        if refused:
            allowed = ", ".join(self.adoptable) or "none: all of a checkpoint's fitted state or none of it"
            raise UserError(
                f"init_from_fitted: {type(self).__name__} cannot take {', '.join(refused)} alone "
                f"(parts it can take: {allowed})"
            )
        self._adopted = dict(state)

    def fitted_state(self) -> dict[str, str]:
        """What ``setup()`` fitted on the training data, as JSON strings (name -> JSON)."""
        raise NotImplementedError

    def handoff(self) -> dict[str, Any]:
        """What the model is built with besides its config (vocabulary sizes, special ids, label
        names …): passed to the model's constructor, and stored in checkpoints as ``handoff``."""
        raise NotImplementedError

    def references(self, split: str) -> Sequence[Any]:
        """The expected output of every example of ``split`` in dataset order (batches carry their
        ``index``): what apps scored on decoded outputs compare theirs with."""
        raise NotImplementedError(f"{type(self).__name__} keeps no references")

    def example_input(self, split: str, index: int) -> Any:
        """Example ``index`` of ``split`` as a person reads it (a source sentence, its tokens, an
        input window): shown beside the model's output in TensorBoard."""
        raise NotImplementedError(f"{type(self).__name__} shows no example inputs")

    # -- where a resumed run's training epoch continues -----------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The training position (epoch, batches done in it), saved in every checkpoint.

        The training loader saves the same (``ResumableBatchLoader``), but Lightning hands a
        loader its state only if the loader is made after the checkpoint is read, and a model
        whose scheduler needs the run's length (``trainer.estimated_stepping_batches``: one-cycle,
        cosine by step) makes it before. The datamodule's state is handed back in either case."""
        trainer = getattr(self, "trainer", None)
        if trainer is None or not trainer.training:
            return {}
        progress = trainer.fit_loop.epoch_loop.batch_progress.current
        return {"train_position": {"epoch": trainer.current_epoch, "batches_done": progress.completed}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        position = state_dict.get("train_position")
        if position:
            self._resume_position = (int(position["epoch"]), int(position["batches_done"]))

    def resumable_loader(self, batches: IterableDataset, trainer: L.Trainer) -> ResumableBatchLoader:
        """The training loader of ``batches``, which continue where a resumed checkpoint stopped."""
        loader = ResumableBatchLoader(batches, trainer, self.pin_memory())
        if self._resume_position is not None:
            loader.load_state_dict(
                {"epoch": self._resume_position[0], "batches_done": self._resume_position[1]}
            )
            self._resume_position = None
        return loader

    def pin_memory(self) -> bool:
        """Pinned (page-locked) batches when training on CUDA: only a copy from pinned memory runs
        asynchronously; one from ordinary memory may wait for the device's queue to drain first."""
        return isinstance(getattr(getattr(self, "trainer", None), "accelerator", None), CUDAAccelerator)

    def distributed_position(self) -> tuple[int, int]:
        """``(rank, world_size)`` of this process, ``(0, 1)`` outside a trainer."""
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 0, 1
        return trainer.global_rank, trainer.world_size


class BucketedDataModule(AppDataModule):
    """An app whose batches come ready-made from a length-bucketed ``IterableDataset`` per split
    (``text/batching.py``): the app builds it in ``make_batches``; this class caches it per split
    and wraps it for Lightning. ``batch_size`` is used for training, ``eval_batch_size`` else;
    ``max_tokens``, where an app offers it, makes training batches token-based."""

    batch_size: int
    eval_batch_size: int
    max_tokens: int | None = None

    def __init__(self, source: Any = None) -> None:
        super().__init__(source)
        self._datasets: dict[str, IterableDataset] = {}

    def make_batches(
        self, split: str, batch_size: int, shuffle: bool, rank: int, world: int
    ) -> IterableDataset:
        raise NotImplementedError

    def token_budget(self, shuffle: bool) -> int | None:
        """Padded tokens per batch for training batches (``shuffle``), else None: evaluation
        keeps ``eval_batch_size`` sentences, since it holds no activations for a backward pass."""
        return self.max_tokens if shuffle else None

    def _loader(self, split: str, batch_size: int, shuffle: bool) -> DataLoader:
        if split not in self._datasets:
            rank, world = self.distributed_position()
            batches = self.make_batches(split, batch_size, shuffle, rank, world)
            trainer = getattr(self, "trainer", None)
            if shuffle and trainer is not None and hasattr(batches, "epoch_source"):
                batches.epoch_source = lambda: trainer.current_epoch
            self._datasets[split] = batches
        trainer = getattr(self, "trainer", None)
        if shuffle and trainer is not None and isinstance(self._datasets[split], ResumableBatches):
            return self.resumable_loader(self._datasets[split], trainer)
        return DataLoader(self._datasets[split], batch_size=None, pin_memory=self.pin_memory())

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", self.eval_batch_size, shuffle=False)


@runtime_checkable
class ResumableBatches(Protocol):
    """Batches that can skip, in epoch ``epoch``, the ``batches_done`` a checkpoint trained on."""

    def resume_at(self, epoch: int, batches_done: int) -> None: ...


class ResumableBatchLoader(DataLoader):
    """The training loader of bucketed batches, resumable mid-epoch.

    Lightning stores a loader's ``state_dict`` in checkpoints and hands it back on resume when the
    loader has one. A checkpoint written mid-epoch (on SIGTERM or a crash) then resumes with the
    batches of that epoch not yet trained on — not the epoch's first batches again.
    """

    def __init__(self, batches: IterableDataset, trainer: L.Trainer, pin_memory: bool = False) -> None:
        if not isinstance(batches, ResumableBatches):
            raise TypeError(f"{type(batches).__name__} has no resume_at(epoch, batches_done)")
        super().__init__(batches, batch_size=None, pin_memory=pin_memory)
        self._trainer = trainer
        self._batches: ResumableBatches = batches

    def state_dict(self) -> dict[str, int]:
        # The Trainer has no property for "batches done in this epoch"; the loop's progress counter
        # is what Lightning restores on resume and what its own ModelCheckpoint reads.
        progress = self._trainer.fit_loop.epoch_loop.batch_progress.current
        return {"epoch": self._trainer.current_epoch, "batches_done": progress.completed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._batches.resume_at(int(state["epoch"]), int(state["batches_done"]))
