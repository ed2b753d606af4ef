"""Music data: pieces as piano rolls, prepared once into a store of key events, batched by length."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, cast

import numpy as np
import torch

from lstm_apps.apps.music.batching import roll_batch
from lstm_apps.apps.music.piano_roll import STEP_END, events, roll_of_events
from lstm_apps.bounds import Positive, Seed
from lstm_apps.data.prepared.sequence_arrays import SequenceArrays
from lstm_apps.data.prepared.store import PreparedStore
from lstm_apps.pipeline.prepared_records import Columns, PreparedRecordsDataModule
from lstm_apps.text.batching import LengthBucketedBatches


class ScoreSource(Protocol):
    steps_per_quarter: int

    def records(self, split: str) -> Iterator[np.ndarray]: ...

    def identity(self) -> dict[str, Any]: ...


class RollColumn(Sequence[np.ndarray]):
    """A split's pieces as piano rolls, decoded from the mapped events on demand."""

    def __init__(self, encoded: SequenceArrays) -> None:
        self.encoded = encoded
        # Steps per piece (every piece has at least one): its step ends, counted once, summed in
        # int64 from a one-byte mask (no 8-byte copy of the events).
        ends = np.asarray(encoded.ids) == STEP_END
        self.steps = (
            np.add.reduceat(ends, encoded.offsets[:-1], dtype=np.int64)
            if len(encoded)
            else np.zeros(0, np.int64)
        )

    def __len__(self) -> int:
        return len(self.encoded)

    def __getitem__(self, index: int) -> np.ndarray:  # type: ignore[override]
        return roll_of_events(np.asarray(self.encoded[index]))


class RollBatches(LengthBucketedBatches):
    """Pieces of similar length together: ``roll_batch`` (``inputs``, ``targets``, ``lengths``,
    ``mask``) and ``index`` (the pieces' places in the split)."""

    def __init__(
        self, rolls: RollColumn, batch_size: int, shuffle: bool, seed: int, rank: int, world: int
    ) -> None:
        super().__init__(rolls.steps, batch_size, shuffle, seed, rank, world)
        self.rolls = rolls

    def collate(self, indices: list[int]) -> dict[str, torch.Tensor]:
        batch = roll_batch([self.rolls[i] for i in indices])
        batch["index"] = torch.tensor(indices)
        return batch


class MusicDataModule(PreparedRecordsDataModule):
    """``scores``: where the pieces come from (``data/scores=bach|jsb_chorales|score_folder``).
    ``batch_size`` counts pieces per device. The pieces are encoded once into a store under
    ``prepared_dir`` (their keys per step, a few bytes a step) and memory-mapped."""

    store_name = "music"

    def __init__(
        self,
        scores: ScoreSource,
        batch_size: Positive = 16,
        eval_batch_size: Positive = 64,
        seed: Seed = 0,
        prepared_dir: str | None = None,
    ) -> None:
        super().__init__(scores, prepared_dir)
        self.scores = scores
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.seed = seed
        self.rolls: dict[str, RollColumn] = {}

    def store_settings(self, fitted: bool) -> dict[str, Any]:
        return {}

    def fit_vocabularies(self) -> dict[str, str]:
        # Nothing is learned from the pieces; the grid travels with the model so that samples and
        # primers are read and written at the speed it was trained on.
        return {"grid": json.dumps({"steps_per_quarter": self.scores.steps_per_quarter})}

    def use_vocabularies(self, fitted: dict[str, str]) -> None:
        pass

    def encode_records(self, split: str, records: list[np.ndarray]) -> Columns:
        return {
            "events": SequenceArrays.from_lists(
                cast("list[Sequence[int]]", [events(roll) for roll in records]), STEP_END + 1
            )
        }

    def open_columns(self, store: PreparedStore) -> None:
        for split in self.split_names("events"):
            self.rolls[split] = RollColumn(self.column(split, "events"))

    def fitted_state(self) -> dict[str, str]:
        assert self.store is not None, "setup() first"
        return self.store.fitted

    def handoff(self) -> dict[str, Any]:
        assert self.store is not None, "setup() first"
        train = self.rolls.get("train")
        return {
            "steps_per_quarter": int(json.loads(self.store.fitted["grid"])["steps_per_quarter"]),
            "longest_piece": int(train.steps.max()) if train is not None and len(train) else 0,
        }

    def references(self, split: str) -> RollColumn:
        return self.rolls[split]

    def example_input(self, split: str, index: int) -> np.ndarray:
        return self.rolls[split][index]

    def make_batches(self, split: str, batch_size: int, shuffle: bool, rank: int, world: int) -> RollBatches:
        return RollBatches(self.rolls[split], batch_size, shuffle, self.seed, rank, world)
