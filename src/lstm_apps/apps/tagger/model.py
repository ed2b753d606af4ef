"""Sequence tagger (NER, POS, chunking): word + character features -> BiLSTM -> CRF or softmax
(Lample et al. 2016; Ma & Hovy 2016), on the shared core."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from lstm_apps.apps.tagger.encoding import TaggerVocab
from lstm_apps.apps.tagger.span_scores import tagging_scores
from lstm_apps.apps.tagger.tag_schemes import allowed_transitions, spans
from lstm_apps.bounds import Count, Dropout, Positive
from lstm_apps.core.char_features import CharFeatureKind, CharFeatures
from lstm_apps.core.crf import CRF, Constraints, CrfAlgorithm
from lstm_apps.core.export_graph import ExportGraph, GraphOf
from lstm_apps.core.recurrent import CellType, RecurrentBlock
from lstm_apps.pipeline.app_module import AppModule
from lstm_apps.pipeline.decoded_evaluation import DecodedEvaluation
from lstm_apps.pipeline.running_mean import mean_at, running_mean
from lstm_apps.text.word_vectors import initialise_embedding


class TaggerModel(DecodedEvaluation[list[str]], AppModule):
    """``output``: ``crf`` (trained transitions, Viterbi) or ``softmax`` (per-token). With
    ``constrained`` the scheme's illegal transitions can never be decoded, in both outputs.
    ``char_features``: ``cnn`` | ``lstm`` | ``none``. ``word_dropout`` replaces training words by
    ``<unk>`` with that probability, so the model learns what to do with unseen words.
    ``word_vectors``: a GloVe/word2vec text file (optionally .gz) whose vectors initialise the
    word embeddings of a new model (``word_dim`` must match). ``crf_algorithm``: ``auto`` (a
    log-depth tree on a GPU, the position recursion on a CPU), ``tree`` or ``sequential``; see
    ``core/crf.py``."""

    app_name = "tagger"

    def __init__(
        self,
        word_vocab_size: int,
        char_vocab_size: int,
        tags: list[str],
        scheme: str,
        pad_id: int,
        unk_id: int,
        word_dim: Positive = 100,
        word_vectors: str | None = None,
        char_features: CharFeatureKind | Literal["none"] = "cnn",
        char_dim: Positive = 30,
        char_size: Positive = 50,
        char_kernel: Positive = 3,
        hidden_size: Positive = 128,
        num_layers: Positive = 1,
        cell: CellType = "lstm",
        dropout: Dropout = 0.5,
        word_dropout: Dropout = 0.05,
        output: Literal["crf", "softmax"] = "crf",
        crf_algorithm: CrfAlgorithm = "auto",
        constrained: bool = True,
        log_examples: Count = 4,
        optimizer: Mapping[str, Any] | None = None,
        scheduler: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler)
        self.tags, self.scheme = list(tags), scheme
        self.pad_id, self.unk_id = pad_id, unk_id
        self.word_vectors = word_vectors
        self.word_dropout = word_dropout
        self.log_examples = log_examples
        self.word_embedding = nn.Embedding(word_vocab_size, word_dim, padding_idx=pad_id)
        self.char_features = (
            CharFeatures(char_vocab_size, char_dim, char_size, char_features, char_kernel)
            if char_features != "none"
            else None
        )
        features = word_dim + (char_size if self.char_features is not None else 0)
        self.encoder = RecurrentBlock(
            features, hidden_size, num_layers, cell, bidirectional=True, dropout=dropout
        )
        self.dropout = nn.Dropout(dropout)
        self.emission = nn.Linear(self.encoder.output_size, len(self.tags))
        constraints: Constraints = (
            allowed_transitions(self.tags, scheme) if constrained else (None, None, None)
        )
        self.crf = CRF(len(self.tags), *constraints, algorithm=crf_algorithm) if output == "crf" else None
        # Softmax output with constraints: Viterbi over log-probabilities with fixed zero scores.
        self.constraint_decoder = (
            _frozen_constraints(len(self.tags), constraints) if output == "softmax" and constrained else None
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
            self.word_embedding,
            self.word_vectors,
            self.vocab_tables.word_list,
            "model.word_vectors",
            "model.word_dim",
        )

    # -- model ----------------------------------------------------------------------------------
    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Emission scores ``[B, L, num_tags]``."""
        words = batch["words"]
        if self.training and self.word_dropout > 0:
            drop = (torch.rand(words.shape, device=words.device) < self.word_dropout) & (words != self.pad_id)
            words = words.masked_fill(drop, self.unk_id)
        features = [self.word_embedding(words)]
        if self.char_features is not None:
            per_word = self.char_features(batch["word_chars"], batch["word_char_lengths"])
            features.append(per_word[batch["char_slots"]])
        encoded, _ = self.encoder(self.dropout(torch.cat(features, dim=-1)), batch["lengths"])
        return self.emission(self.dropout(encoded))

    @staticmethod
    def mask(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        words = batch["words"]
        lengths = batch["lengths"].to(words.device, non_blocking=True)
        return torch.arange(words.size(1), device=words.device).unsqueeze(0) < lengths.unsqueeze(1)

    def loss(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per sentence (CRF) or per token (softmax)."""
        if self.crf is not None:
            return self.crf.negative_log_likelihood(emissions, tags, mask).mean()
        # Padding as ignore_index rather than emissions[mask]: boolean indexing has to read the
        # mask back from the device to size its result.
        return F.cross_entropy(
            emissions.float().transpose(1, 2), tags.masked_fill(~mask, -100), ignore_index=-100
        )

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Best tag ids ``[B, L]`` (values at padded positions are meaningless)."""
        if self.crf is not None:
            return self.crf.viterbi(emissions, mask)[0]
        if self.constraint_decoder is not None:
            return self.constraint_decoder.viterbi(emissions.float().log_softmax(-1), mask)[0]
        return emissions.argmax(-1)

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
        words, chars = (
            self.word_embedding.num_embeddings,
            self.char_features.embedding.num_embeddings if (self.char_features is not None) else 2,
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
            return (self(batch),)

        def make_inputs(n: int) -> tuple[torch.Tensor, ...]:
            return torch.randint(1, words, (n, 3 + n)), torch.randint(1, chars, (n, 3 + n, 4))

        extras: dict[str, object] = {"tags": self.tags, "scheme": self.scheme}
        if self.crf is not None:
            transitions, start, end = (t.tolist() for t in self.crf._scores())
            extras.update(transitions=transitions, start=start, end=end)
        axes = {
            "word_ids": {0: "batch", 1: "words"},
            "char_ids": {0: "batch", 1: "words", 2: "chars"},
            "emissions": {0: "batch", 1: "words"},
        }
        return [
            ExportGraph(
                "emissions",
                GraphOf(self, emissions),
                make_inputs,
                ["word_ids", "char_ids"],
                ["emissions"],
                axes,
                extras,
            )
        ]


def _frozen_constraints(num_tags: int, constraints: Constraints) -> CRF:
    decoder = CRF(num_tags, *constraints)
    for param in decoder.parameters():
        nn.init.zeros_(param)
        param.requires_grad_(False)
    return decoder


def _bracketed(tokens: list[str], tags: list[str], scheme: str) -> str:
    """``[John Smith|PER] lives in [Berlin|LOC]``: spans shown inline for TensorBoard."""
    if scheme == "none":
        return " ".join(f"{t}/{g}" for t, g in zip(tokens, tags, strict=True))
    words = list(tokens)
    for kind, start, end in spans(tags, scheme):
        words[start] = "[" + words[start]
        words[end - 1] = f"{words[end - 1]}|{kind}]"
    return " ".join(words)
