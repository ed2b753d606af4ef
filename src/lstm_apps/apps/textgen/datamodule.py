"""Text generator data: one corpus, one tokenizer, contiguous streams cut into BPTT windows."""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch.utils.data import DataLoader

from lstm_apps.errors import UserError
from lstm_apps.pipeline.app_datamodule import AppDataModule
from lstm_apps.text.stream import BPTTWindows, stream_rows
from lstm_apps.text.tokenizer import Tokenizer, fitted, tokenizer_from_json, train_tokenizer


class CorpusSource(Protocol):
    def load(self) -> dict[str, str]: ...


class TextStreamDataModule(AppDataModule):
    """Language-model data for stateful truncated BPTT.

    ``batch_size`` is per device: with N processes the stream is laid out in ``N * batch_size``
    rows and each rank reads its own block of rows, so ranks see disjoint text and each row stays
    contiguous (the hidden state carried across batches stays meaningful).
    """

    def __init__(
        self,
        corpus: CorpusSource,
        tokenizer: str = "char",
        vocab_size: int = 8000,
        min_frequency: int = 1,
        batch_size: int = 32,
        eval_batch_size: int = 16,
        bptt: int = 128,
    ) -> None:
        super().__init__(source=corpus)
        self.corpus = corpus
        self.tokenizer_kind = tokenizer
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.bptt = bptt
        self.tokenizer: Tokenizer | None = None
        self.ids: dict[str, torch.Tensor] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.ids:
            return
        texts = self.corpus.load()
        if self._fitted_state is not None:
            self.tokenizer = tokenizer_from_json(self._fitted_state["tokenizer"])
        else:
            # Paragraph chunks keep HF trainers fast and memory-flat on big corpora.
            self.tokenizer = train_tokenizer(
                self.tokenizer_kind, texts["train"].split("\n\n"), self.vocab_size, self.min_frequency
            )
        for split, text in texts.items():
            self.ids[split] = torch.tensor(self.tokenizer.encode(text), dtype=torch.long)

    def _tokenizer(self) -> Tokenizer:
        return fitted(self.tokenizer, "setup()")

    def fitted_state(self) -> dict[str, str]:
        return {"tokenizer": self._tokenizer().to_json()}

    def handoff(self) -> dict[str, Any]:
        return {"vocab_size": self._tokenizer().vocab_size}

    def _windows(self, split: str, batch_size: int) -> DataLoader:
        rank, world = self.distributed_position()
        try:
            rows = stream_rows(self.ids[split], batch_size * world)
        except ValueError:
            raise UserError(
                f"data: the {split} split has {self.ids[split].numel()} tokens, too few for "
                f"{batch_size} rows x {world} process(es); lower data.batch_size/data.eval_batch_size"
            ) from None
        mine = rows[rank * batch_size : (rank + 1) * batch_size]
        return DataLoader(BPTTWindows(mine, self.bptt), batch_size=None, pin_memory=self.pin_memory())

    def train_dataloader(self) -> DataLoader:
        return self._windows("train", self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return self._windows("val", self.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        return self._windows("test", self.eval_batch_size)
