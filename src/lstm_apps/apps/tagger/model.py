"""Sequence tagger (NER, POS, chunking): word + character features -> BiLSTM -> CRF or softmax
(Lample et al. 2016; Ma & Hovy 2016), on the shared core."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch
from torch import nn

from lstm_apps.apps.tagger.encoding import TaggerVocab
from lstm_apps.apps.tagger.network import TaggerNetwork
from lstm_apps.apps.tagger.span_scores import tagging_scores
from lstm_apps.apps.tagger.tag_schemes import spans
from lstm_apps.bounds import Count
from lstm_apps.core.export_graph import ExportGraph, GraphOf
from lstm_apps.pipeline.app_module import AppModule
from lstm_apps.pipeline.decoded_evaluation import DecodedEvaluation
from lstm_apps.pipeline.running_mean import mean_at, running_mean
from lstm_apps.pipeline.weight_transfer import TransferParts
from lstm_apps.text.word_vectors import initialise_embedding


class TaggerModel(DecodedEvaluation[list[str]], AppModule):
    """Trains ``TaggerNetwork`` (``self.net``; ``**settings`` are its ``word_dim``, ``output``,
    ``crf_algorithm`` …) and scores span F1. ``word_vectors``: a GloVe/word2vec text file
    (optionally .gz) whose vectors initialise the word embeddings of a new model (``word_dim``
    must match)."""

    app_name = "tagger"
    network = TaggerNetwork
    fitted_weights = {
        "words": ("net.word_embedding.",),
        "chars": ("net.char_features.embedding.",),
        "tags": ("net.emission.", "net.crf.", "net.constraint_decoder."),
    }
    transfer_parts = TransferParts(embedding="net.word_embedding", encoder="net.encoder", tokenizer="words")

    def __init__(
        self,
        word_vocab_size: int,
        char_vocab_size: int,
        tags: list[str],
        scheme: str,
        pad_id: int,
        unk_id: int,
        word_vectors: str | None = None,
        log_examples: Count = 4,
        optimizer: Mapping[str, Any] | None = None,
        scheduler: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler)
        self.tags, self.scheme = list(tags), scheme
        self.pad_id, self.unk_id = pad_id, unk_id
        self.word_vectors = word_vectors
        self.log_examples = log_examples
        self.net = TaggerNetwork(
            word_vocab_size, char_vocab_size, self.tags, scheme, pad_id, unk_id, **settings
        )
        self.eval_loss = nn.ModuleDict({"val": running_mean(), "test": running_mean()})
        self.vocab_tables: TaggerVocab | None = None
        self._decoded = []
        self._examples: list[tuple[list[str], list[str], list[str]]] = []
        self._report = ""

    def on_fitted_state(self, state: dict[str, str]) -> None:
        self.vocab_tables = TaggerVocab.from_state(state)

    def load_pretrained(self) -> None:
        if not self.word_vectors or self.vocab_tables is None:
            return
        initialise_embedding(
            self.net.word_embedding,
            self.word_vectors,
            self.vocab_tables.word_list,
            "model.word_vectors",
            "model.word_dim",
        )

    # -- model ----------------------------------------------------------------------------------
    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Emission scores ``[B, L, num_tags]`` (``TaggerNetwork.forward``)."""
        return self.net(batch)

    @staticmethod
    def mask(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        words = batch["words"]
        lengths = batch["lengths"].to(words.device, non_blocking=True)
        return torch.arange(words.size(1), device=words.device).unsqueeze(0) < lengths.unsqueeze(1)

    def loss(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.net.loss(emissions, tags, mask)

    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.net.decode(emissions, mask)

    def _tag_names(self, ids: torch.Tensor, lengths: torch.Tensor) -> list[list[str]]:
        return [
            [self.tags[i] for i in row[:n]] for row, n in zip(ids.tolist(), lengths.tolist(), strict=True)
        ]

    @torch.no_grad()
    def decode_batch(
        self, batch: dict[str, torch.Tensor], search: Literal["model", "argmax"] = "model"
    ) -> torch.Tensor:
        """The app's decoding entry point: best tag ids ``[B, L]`` of a collated batch; ``search``:
        the model's own decoding (CRF or constrained Viterbi), or the per-token ``argmax``."""
        emissions = self(batch)
        return self.decode(emissions, self.mask(batch)) if search == "model" else emissions.argmax(-1)

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int = 0) -> list[tuple[int, list[str]]]:
        """``(index, tags)`` for every sentence of a predictor's batch."""
        predicted = self._tag_names(self.decode_batch(batch), batch["lengths"])
        return list(zip(batch["index"].tolist(), predicted, strict=True))

    # -- training / evaluation ------------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.loss(self(batch), batch["tags"], self.mask(batch))
        self.log_training(batch["words"].size(0), loss=loss)
        return loss

    def _evaluate_batch(self, batch: dict[str, torch.Tensor], batch_idx: int, split: str) -> None:
        emissions, mask = self(batch), self.mask(batch)
        mean_at(self.eval_loss, split).update(
            self.loss(emissions, batch["tags"], mask), batch["words"].size(0)
        )
        predicted = self._tag_names(self.decode(emissions, mask), batch["lengths"])
        indices = batch["index"].tolist()
        self._decoded += list(zip(indices, predicted, strict=True))
        if split == "val" and batch_idx == 0:
            data = self.app_data()
            self._examples = [
                (data.example_input("val", i), data.references("val")[i], tags)
                for i, tags in zip(indices[: self.log_examples], predicted, strict=False)
            ]

    def _finish_epoch(self, split: str) -> None:
        loss = mean_at(self.eval_loss, split).compute()
        mean_at(self.eval_loss, split).reset()
        predicted, gold = self.decoded_with_references(split)
        scores = tagging_scores(predicted, gold, self.scheme)
        self.log(f"{split}/loss", loss, sync_dist=True)
        # Every process scores the gathered predictions of all processes, so the values agree;
        # sync_dist keeps Lightning's contract for epoch-level metrics at the cost of one mean.
        for name, value in scores.as_metrics().items():
            self.log(f"{split}/{name}", value, prog_bar=name == "f1", sync_dist=True)
        if split == "test":
            for kind, typed in scores.per_type.items():
                self.log(f"test/f1_{kind}", typed.f1, sync_dist=True)
            self._report = scores.table()

    # -- what people see ------------------------------------------------------------------------
    def evaluation_report(self) -> str:
        return self._report

    def validation_samples(self) -> dict[str, str]:
        if not self._examples:
            return {}
        rows = ["| gold | predicted |", "|---|---|"]
        for tokens, gold, predicted in self._examples:
            rows.append(
                f"| {_bracketed(tokens, gold, self.scheme)} | {_bracketed(tokens, predicted, self.scheme)} |"
            )
        return {"samples/tagged": "\n".join(rows)}

    def export_graphs(self) -> list[ExportGraph]:
        """``emissions``: word ids ``[B, L]`` and character ids ``[B, L, C]`` -> tag scores
        ``[B, L, T]``; the tag names, scheme and CRF scores (constraints included) go to
        ``emissions.json`` for a runtime's Viterbi."""
        net = self.net
        words, chars = (
            net.word_embedding.num_embeddings,
            net.char_features.embedding.num_embeddings if (net.char_features is not None) else 2,
        )

        def emissions(word_ids: torch.Tensor, char_ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
            # Every word slot is its own row here: a runtime need not find the distinct words.
            slots = torch.arange(word_ids.numel(), device=word_ids.device).view_as(word_ids)
            word_chars = char_ids.flatten(0, 1)
            lengths = (word_chars != 0).sum(1).clamp(min=1)
            batch = {
                "words": word_ids,
                "word_chars": word_chars,
                "word_char_lengths": lengths,
                "char_slots": slots,
                "lengths": None,
            }
            return (net(batch),)

        def make_inputs(n: int) -> tuple[torch.Tensor, ...]:
            return torch.randint(1, words, (n, 3 + n)), torch.randint(1, chars, (n, 3 + n, 4))

        extras: dict[str, object] = {"tags": self.tags, "scheme": self.scheme}
        if net.crf is not None:
            transitions, start, end = (t.tolist() for t in net.crf._scores())
            extras.update(transitions=transitions, start=start, end=end)
        axes = {
            "word_ids": {0: "batch", 1: "words"},
            "char_ids": {0: "batch", 1: "words", 2: "chars"},
            "emissions": {0: "batch", 1: "words"},
        }
        return [
            ExportGraph(
                "emissions",
                GraphOf(net, emissions),
                make_inputs,
                ["word_ids", "char_ids"],
                ["emissions"],
                axes,
                extras,
            )
        ]


def _bracketed(tokens: list[str], tags: list[str], scheme: str) -> str:
    """``[John Smith|PER] lives in [Berlin|LOC]``: spans shown inline for TensorBoard."""
    if scheme == "none":
        return " ".join(f"{t}/{g}" for t, g in zip(tokens, tags, strict=True))
    words = list(tokens)
    for kind, start, end in spans(tags, scheme):
        words[start] = "[" + words[start]
        words[end - 1] = f"{words[end - 1]}|{kind}]"
    return " ".join(words)
