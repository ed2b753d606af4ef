"""Image captioner (Show, Attend and Tell style) on the shared attention decoder and searches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, NamedTuple

import torch
import torch.nn.functional as F
from annotated_types import Ge

from lstm_apps.apps.captioner.datamodule import IMAGENET_MEAN, IMAGENET_STD
from lstm_apps.apps.captioner.network import CaptionNetwork
from lstm_apps.bounds import Count, Dropout, NonNegative, Positive
from lstm_apps.core.attention_decoder_export import decoder_step_graph
from lstm_apps.core.beam_search import Hypothesis
from lstm_apps.core.export_graph import ExportGraph, GraphOf, flat_state, state_names
from lstm_apps.inspection.replay import unrecorded
from lstm_apps.pipeline.app_module import AppModule
from lstm_apps.pipeline.decoded_evaluation import DecodedEvaluation
from lstm_apps.plots import attention_overlay
from lstm_apps.text.batching import pad_sequences
from lstm_apps.text.scores import caption_scores
from lstm_apps.text.tokenizer import Tokenizer, fitted, tokenizer_from_json


class Caption(NamedTuple):
    """A caption; with attention asked for, its words and per word the weights over the image's
    regions (a ``grid_size`` x ``grid_size`` grid, row by row)."""

    text: str
    words: list[str] | None = None
    attention: list[list[float]] | None = None


class CaptionModel(DecodedEvaluation[str], AppModule):
    """Trains ``CaptionNetwork`` (``self.net``; ``**settings`` are its ``encoder``, ``attention``,
    ``hidden_size`` …) with the doubly stochastic attention penalty
    ``lambda * sum_regions (1 - sum_t alpha_t,region)^2`` that asks every region to be looked at
    about once over the caption."""

    app_name = "captioner"
    fitted_weights = {"tokenizer": ("net.decoder.embedding.", "net.decoder.output.")}
    network = CaptionNetwork

    def __init__(
        self,
        vocab_size: int,
        pad_id: int,
        bos_id: int,
        eos_id: int,
        image_size: Annotated[int, Ge(16)] = 64,
        attention_penalty: NonNegative = 1.0,
        label_smoothing: Dropout = 0.0,
        val_beam_size: Positive = 1,
        test_beam_size: Positive = 3,
        length_penalty: NonNegative = 0.0,
        max_len: Positive = 24,
        log_examples: Count = 3,
        optimizer: Mapping[str, Any] | None = None,
        scheduler: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler)
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.net = CaptionNetwork(vocab_size, pad_id, **settings)
        self.image_size = image_size
        self.attention_penalty = attention_penalty
        self.label_smoothing = label_smoothing
        self.val_beam_size, self.test_beam_size = val_beam_size, test_beam_size
        self.length_penalty, self.max_len, self.log_examples = length_penalty, max_len, log_examples
        self.tokenizer: Tokenizer | None = None
        self._decoded = []
        self._examples: list[dict[str, Any]] = []

    def on_fitted_state(self, state: dict[str, str]) -> None:
        self.tokenizer = tokenizer_from_json(state["tokenizer"])

    def _tokenizer(self) -> Tokenizer:
        return fitted(self.tokenizer, "bind_fitted_state()")

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net(batch["images"], batch["tgt_in"])

    def _loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        logits, attention = self(batch)
        targets = batch["tgt_out"]
        nll = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)).float(),
            targets.reshape(-1),
            ignore_index=self.pad_id,
            label_smoothing=self.label_smoothing,
        )
        real = (targets != self.pad_id).unsqueeze(-1).to(attention.dtype)
        coverage = (attention * real).sum(dim=1)  # [B, regions]: attention each region got over the caption
        penalty = ((1.0 - coverage) ** 2).sum(dim=1).mean()
        return nll, penalty

    @torch.no_grad()
    def decode_batch(self, batch: Mapping[str, Any], **search: Any) -> list[list[Hypothesis]]:
        """The app's decoding entry point: a collated batch (``images``) and the search settings
        (``beam_size``, ``n_best``)."""
        return self.decode(batch["images"], **search)

    def decode(self, images: torch.Tensor, beam_size: int = 1, n_best: int = 1) -> list[list[Hypothesis]]:
        return self.net.search(
            images,
            self.bos_id,
            self.eos_id,
            self.max_len,
            beam_size=beam_size,
            n_best=n_best,
            alpha=self.length_penalty,
        )

    def predict_step(self, batch: dict[str, Any], batch_idx: int = 0) -> list[tuple[int, Caption]]:
        """``(index, caption)`` for a batch of normalised ``images`` ``[B, 3, H, W]`` with their
        ``index`` and the ``beam_size`` to search with; with ``with_attention`` each caption also
        carries its words and, per word, the attention over the image's regions."""
        tokenizer = self._tokenizer()
        found = self.decode(batch["images"], beam_size=int(batch["beam_size"]))
        keep = bool(batch.get("with_attention"))
        results = []
        for i, hyps in zip(batch["index"].tolist(), found, strict=True):
            best = hyps[0]
            text = tokenizer.decode(best.tokens)
            if keep and best.attention is not None:
                words = [tokenizer.decode([t]) for t in best.tokens]
                results.append((int(i), Caption(text, words, best.attention.float().cpu().tolist())))
            else:
                results.append((int(i), Caption(text)))
        return results

    def inspection_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The caption loss; a validation batch carries images only (its references are scored as
        text), so there the model's own greedy caption of each image is the target read."""
        if "tgt_in" not in batch:
            with torch.no_grad(), unrecorded():
                captions = [hyps[0].tokens[: self.max_len] for hyps in self.decode(batch["images"])]
            batch = {
                "images": batch["images"],
                "tgt_in": pad_sequences([[self.bos_id, *c] for c in captions], self.pad_id)[0].to(
                    self.device
                ),
                "tgt_out": pad_sequences([[*c, self.eos_id] for c in captions], self.pad_id)[0].to(
                    self.device
                ),
            }
        nll, penalty = self._loss(batch)
        return nll + self.attention_penalty * penalty

    # -- training / evaluation ------------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        nll, penalty = self._loss(batch)
        loss = nll + self.attention_penalty * penalty
        size = batch["images"].size(0)
        self.log_training(size, loss=loss, attention_penalty=penalty)
        return loss

    def _evaluate_batch(self, batch: dict[str, torch.Tensor], batch_idx: int, split: str) -> None:
        tokenizer = self._tokenizer()
        found = self.decode(batch["images"], beam_size=self.beam_size_for(split))
        texts = [tokenizer.decode(h[0].tokens) for h in found]
        self._decoded += list(zip(batch["index"].tolist(), texts, strict=True))
        if split == "val" and batch_idx == 0:
            self._examples = [
                {
                    "image": batch["images"][i].cpu(),
                    "caption": texts[i],
                    "words": [tokenizer.decode([t]) for t in h[0].tokens],
                    "attention": h[0].attention.cpu() if h[0].attention is not None else None,
                }
                for i, h in enumerate(found[: self.log_examples])
            ]

    def _finish_epoch(self, split: str) -> None:
        hypotheses, references = self.decoded_with_references(split)
        scores = caption_scores(hypotheses, references)
        for name, value in scores.items():
            self.log(f"{split}/{name}", value, prog_bar=name == "bleu4", rank_zero_only=True)

    # -- what people see ------------------------------------------------------------------------
    def validation_samples(self) -> dict[str, str]:
        lines = [f"{i}. {e['caption']}" for i, e in enumerate(self._examples)]
        return {"samples/captions": "\n\n".join(lines)} if lines else {}

    def validation_images(self) -> dict[str, torch.Tensor]:
        return {
            f"attention/image_{i}": attention_overlay(e["image"], e["attention"], IMAGENET_MEAN, IMAGENET_STD)
            for i, e in enumerate(self._examples)
            if e["attention"] is not None
        }

    def export_graphs(self) -> list[ExportGraph]:
        """``encoder``: images ``[B, 3, H, W]`` (normalised) -> region features and the decoder's
        initial state; ``decoder_step``: one step of the attention decoder."""
        net = self.net
        cells = state_names(net.decoder.rnn.cell, "initial_")

        def encoder_outputs(images: torch.Tensor) -> tuple[torch.Tensor, ...]:
            memory, state = net.encode(images)
            return (memory, *flat_state(state.recurrent_state()))

        size = self.image_size
        axes = {"images": {0: "batch"}, "memory": {0: "batch"}, **{name: {1: "batch"} for name in cells}}
        encoder = ExportGraph(
            "encoder",
            GraphOf(net, encoder_outputs),
            lambda n: (torch.randn(n, 3, size, size),),
            ["images"],
            ["memory", *cells],
            axes,
        )
        with torch.no_grad():
            memory_size = net.encoder(torch.zeros(1, 3, size, size)).size(-1)
        extras = {"bos_id": self.bos_id, "eos_id": self.eos_id, "pad_id": self.pad_id, "image_size": size}
        step = decoder_step_graph(net.decoder, memory_size, extras)
        return [encoder, step]
