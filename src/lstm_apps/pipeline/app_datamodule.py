"""What every app's datamodule offers the pipeline: the hand-off of shapes and vocabularies."""

from __future__ import annotations

from typing import Any

import lightning as L


class AppDataModule(L.LightningDataModule):
    """Base class: the data decides the model's sizes and owns the vocabularies.

    After ``setup()`` the pipeline asks for ``model_kwargs()`` (sizes the model is built with) and
    ``vocab_state()`` (JSON strings stored in checkpoints). ``load_vocab_state()`` is called before
    ``setup()`` when a checkpoint's vocabularies must be reused instead of trained anew.
    """

    def __init__(self) -> None:
        super().__init__()
        self._vocab_state: dict[str, str] | None = None

    def load_vocab_state(self, state: dict[str, str]) -> None:
        self._vocab_state = dict(state)

    def vocab_state(self) -> dict[str, str]:
        raise NotImplementedError

    def model_kwargs(self) -> dict[str, Any]:
        raise NotImplementedError

    def distributed_position(self) -> tuple[int, int]:
        """``(rank, world_size)`` of this process, ``(0, 1)`` outside a trainer."""
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 0, 1
        return trainer.global_rank, trainer.world_size
