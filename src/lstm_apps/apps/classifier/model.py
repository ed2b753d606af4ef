"""Text classifier: token embeddings -> (bi)LSTM (shared core) -> pooling -> labels; multi-class
(softmax) or multi-label (sigmoid)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MultilabelConfusionMatrix,
    MultilabelExactMatch,
    MultilabelF1Score,
)

from lstm_apps.apps.classifier.encoding import ClassifierVocab
from lstm_apps.apps.classifier.network import ClassifierNetwork
from lstm_apps.bounds import Count, Fraction
from lstm_apps.core.export_graph import ExportGraph, GraphOf
from lstm_apps.errors import UserError
from lstm_apps.pipeline.app_module import AppModule
from lstm_apps.pipeline.running_mean import mean_at, running_mean
from lstm_apps.pipeline.weight_transfer import TransferParts
from lstm_apps.plots import confusion_matrix_image, highlighted_text_image
from lstm_apps.text.tokenizer import HFWrappedTokenizer
from lstm_apps.text.word_vectors import initialise_embedding


class ClassifierModel(AppModule):
    """Trains ``ClassifierNetwork`` (``self.net``; ``**settings`` are its ``embedding_dim``,
    ``pooling`` …). ``class_weights`` (from the data) weigh the loss per class. Multi-label predictions are the labels whose probability reaches ``threshold``.
    ``word_vectors``: a GloVe/word2vec text file (optionally .gz) whose vectors initialise the
    embeddings of a new model with a word tokenizer (``embedding_dim`` must match)."""

    app_name = "classifier"
    network = ClassifierNetwork
    fitted_weights = {"tokenizer": ("net.embedding.",), "labels": ("net.output.",)}
    transfer_parts = TransferParts(embedding="net.embedding", encoder="net.encoder", tokenizer="tokenizer")
    class_weights: torch.Tensor | None  # a buffer (registered in __init__)

    def __init__(
        self,
        vocab_size: int,
        labels: list[str],
        multi_label: bool,
        pad_id: int,
        class_weights: list[float] | None = None,
        word_vectors: str | None = None,
        threshold: Fraction = 0.5,
        log_examples: Count = 4,
        optimizer: Mapping[str, Any] | None = None,
        scheduler: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler)
        self.labels, self.multi_label, self.pad_id = list(labels), multi_label, pad_id
        self.threshold, self.log_examples = threshold, log_examples
        self.word_vectors = word_vectors
        self.net = ClassifierNetwork(vocab_size, len(self.labels), pad_id, **settings)
        self.register_buffer("class_weights", torch.tensor(class_weights) if class_weights else None)
        self.eval_loss = nn.ModuleDict({"val": running_mean(), "test": running_mean()})
        self.scores = nn.ModuleDict({split: self._make_scores() for split in ("val", "test")})
        self.vocab_tables: ClassifierVocab | None = None
        self._examples: list[tuple[str, str, str, list[str], list[float]]] = []
        self._confusion: torch.Tensor | None = None
        self._report = ""

    def _scores(self, split: str) -> MetricCollection:
        return cast(MetricCollection, self.scores[split])

    def _make_scores(self) -> MetricCollection:
        n = len(self.labels)
        if self.multi_label:
            return MetricCollection(
                {
                    "acc": MultilabelExactMatch(n, threshold=self.threshold),
                    "macro_f1": MultilabelF1Score(n, threshold=self.threshold, average="macro"),
                    "confusion": MultilabelConfusionMatrix(n, threshold=self.threshold),
                }
            )
        return MetricCollection(
            {
                "acc": MulticlassAccuracy(n, average="micro"),
                "macro_f1": MulticlassF1Score(n, average="macro"),
                "confusion": MulticlassConfusionMatrix(n),
            }
        )

    def load_pretrained(self) -> None:
        if not self.word_vectors or self.vocab_tables is None:
            return
        tokenizer = self.vocab_tables.tokenizer
        if not isinstance(tokenizer, HFWrappedTokenizer) or tokenizer.kind != "word":
            raise UserError(
                f"model.word_vectors: vectors are per word; needs data.tokenizer=word, not {tokenizer.kind}"
            )
        initialise_embedding(
            self.net.embedding,
            self.word_vectors,
            tokenizer.id_words(),
            "model.word_vectors",
            "model.embedding_dim",
        )

    def on_fitted_state(self, state: dict[str, str]) -> None:
        self.vocab_tables = ClassifierVocab.from_state(state)

    # -- model ----------------------------------------------------------------------------------
    def forward(
        self, tokens: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(logits [B, C], attention weights [B, L] or None)`` (``ClassifierNetwork.forward``)."""
        return self.net(tokens, lengths)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        if self.multi_label:
            return F.binary_cross_entropy_with_logits(logits, labels, pos_weight=self.class_weights)
        return F.cross_entropy(logits, labels, weight=self.class_weights)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.float().sigmoid() if self.multi_label else logits.float().softmax(-1)

    # -- training / evaluation ------------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        logits, _ = self(batch["tokens"], batch["lengths"])
        loss = self.loss(logits, batch["labels"])
        self.log_training(batch["tokens"].size(0), loss=loss)
        return loss

    def _evaluate(self, batch: dict[str, torch.Tensor], batch_idx: int, split: str) -> None:
        logits, weights = self(batch["tokens"], batch["lengths"])
        labels = batch["labels"]
        mean_at(self.eval_loss, split).update(self.loss(logits, labels), labels.size(0))
        probabilities = self.probabilities(logits)
        self._scores(split).update(probabilities, labels.long())
        if split == "val" and batch_idx == 0 and self.log_examples:
            self._examples = self._describe(batch, probabilities, weights)

    def _describe(
        self, batch: dict[str, torch.Tensor], probabilities: torch.Tensor, weights: torch.Tensor | None
    ) -> list[tuple[str, str, str, list[str], list[float]]]:
        examples = []
        for row in range(min(self.log_examples, batch["tokens"].size(0))):
            length = int(batch["lengths"][row])
            tokens = self.token_strings(batch["tokens"][row, :length].tolist())
            gold = self._names(batch["labels"][row])
            predicted = self._prediction_text(probabilities[row])
            attention = weights[row, :length].tolist() if weights is not None else []
            examples.append((" ".join(tokens), gold, predicted, tokens, attention))
        return examples

    def _names(self, labels: torch.Tensor) -> str:
        if self.multi_label:
            return ", ".join(self.labels[i] for i in labels.nonzero().flatten().tolist())
        return self.labels[int(labels)]

    def predicted_labels(self, probabilities: torch.Tensor) -> list[tuple[str, float]]:
        """The predicted labels with their probabilities: the best one, or (multi-label) every
        label reaching the threshold, possibly none."""
        if self.multi_label:
            chosen = (probabilities >= self.threshold).nonzero().flatten().tolist()
        else:
            chosen = [int(probabilities.argmax())]
        return [(self.labels[i], float(probabilities[i])) for i in chosen]

    def _prediction_text(self, probabilities: torch.Tensor) -> str:
        return (
            ", ".join(f"{label} ({p:.2f})" for label, p in self.predicted_labels(probabilities)) or "(none)"
        )

    def token_strings(self, ids: list[int]) -> list[str]:
        assert self.vocab_tables is not None
        tokenizer = self.vocab_tables.tokenizer
        return [tokenizer.decode([i]).strip() or "·" for i in ids]

    def _finish(self, split: str) -> None:
        loss = mean_at(self.eval_loss, split).compute()
        mean_at(self.eval_loss, split).reset()
        # torchmetrics sums the states of every process in compute(): the values already agree.
        scores = self._scores(split).compute()
        self._scores(split).reset()
        self.log(f"{split}/loss", loss, sync_dist=True)
        self.log(f"{split}/acc", scores["acc"], prog_bar=True)
        self.log(f"{split}/macro_f1", scores["macro_f1"], prog_bar=True)
        self._confusion = scores["confusion"].cpu()
        if split == "test":
            self._report = per_label_table(self._confusion, self.labels, self.multi_label)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "val")

    def on_validation_epoch_end(self) -> None:
        self._finish("val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "test")

    def on_test_epoch_end(self) -> None:
        self._finish("test")

    # -- what people see ------------------------------------------------------------------------
    def evaluation_report(self) -> str:
        return self._report

    def validation_samples(self) -> dict[str, str]:
        if not self._examples:
            return {}
        rows = ["| gold | predicted | text (**most attended tokens** in bold) |", "|---|---|---|"]
        for text, gold, predicted, tokens, attention in self._examples:
            if attention:
                top = set(sorted(range(len(tokens)), key=lambda i: -attention[i])[:3])
                text = " ".join(f"**{t}**" if i in top else t for i, t in enumerate(tokens))
            rows.append(f"| {gold} | {predicted} | {text[:600].replace('|', '/')} |")
        return {"samples/classified": "\n".join(rows)}

    def validation_images(self) -> dict[str, torch.Tensor]:
        images = {}
        if self._confusion is not None and not self.multi_label:
            images["val/confusion_matrix"] = confusion_matrix_image(self._confusion, self.labels)
        attended = [
            (f"gold: {gold} | predicted: {predicted}", tokens[:160], attention[:160])
            for _, gold, predicted, tokens, attention in self._examples
            if attention
        ]
        if attended:
            images["samples/attention"] = highlighted_text_image(attended)
        return images

    # -- inference ------------------------------------------------------------------------------
    def predict_step(
        self, batch: dict[str, torch.Tensor], batch_idx: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(index [B], label probabilities [B, C])`` of a predictor's batch, on the host."""
        return batch["index"].cpu(), self.decode_batch(batch).cpu()

    @torch.no_grad()
    def decode_batch(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The app's decoding entry point: label probabilities ``[B, C]`` of a collated batch."""
        logits, _ = self(batch["tokens"], batch["lengths"])
        return self.probabilities(logits)

    def export_graphs(self) -> list[ExportGraph]:
        """``probabilities``: token ids ``[B, L]`` (no padding) -> label probabilities ``[B, C]``;
        the label names go to ``probabilities.json``."""
        vocab = self.net.embedding.num_embeddings

        def probabilities(tokens: torch.Tensor) -> tuple[torch.Tensor, ...]:
            return (self.probabilities(self.net(tokens)[0]),)

        def make_inputs(n: int) -> tuple[torch.Tensor, ...]:
            return (torch.randint(1, vocab, (n, 4 + n)),)

        axes = {"tokens": {0: "batch", 1: "tokens"}, "probabilities": {0: "batch"}}
        extras = {"labels": self.labels, "multi_label": self.multi_label, "threshold": self.threshold}
        return [
            ExportGraph(
                "probabilities",
                GraphOf(self.net, probabilities),
                make_inputs,
                ["tokens"],
                ["probabilities"],
                axes,
                extras,
            )
        ]


def per_label_scores(confusion: torch.Tensor, multi_label: bool) -> dict[str, torch.Tensor]:
    """Precision, recall, F1 and support per label from a multi-class ``[C, C]`` (rows: true
    class) or multi-label ``[C, 2, 2]`` confusion matrix."""
    confusion = confusion.double()
    if multi_label:
        tp, fp, fn = confusion[:, 1, 1], confusion[:, 0, 1], confusion[:, 1, 0]
    else:
        tp = confusion.diagonal()
        fp, fn = confusion.sum(0) - tp, confusion.sum(1) - tp
    precision = tp / (tp + fp).clamp(min=1)
    recall = tp / (tp + fn).clamp(min=1)
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    return {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}


def per_label_table(confusion: torch.Tensor, labels: list[str], multi_label: bool) -> str:
    """The per-label scores as a markdown table, with the macro average."""
    scores = per_label_scores(confusion, multi_label)
    precision, recall, f1, support = (scores[k] for k in ("precision", "recall", "f1", "support"))
    rows = ["| label | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for i, label in enumerate(labels):
        rows.append(
            f"| {label} | {100 * precision[i]:.2f} | {100 * recall[i]:.2f} | {100 * f1[i]:.2f} | "
            f"{int(support[i])} |"
        )
    rows.append(
        f"| macro | {100 * precision.mean():.2f} | {100 * recall.mean():.2f} | {100 * f1.mean():.2f} | "
        f"{int(support.sum())} |"
    )
    return "\n".join(rows)
