"""Encoder-decoder with attention (Luong et al. 2015 / OpenNMT's RNN models) on the shared core."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from lstm_apps.apps.seq2seq.network import Seq2SeqNetwork
from lstm_apps.apps.seq2seq.unknown_words import replace_unknown
from lstm_apps.bounds import Count, Dropout, NonNegative, Positive
from lstm_apps.core.attention_decoder import DecoderState
from lstm_apps.core.attention_decoder_export import decoder_step_graph
from lstm_apps.core.beam_search import Hypothesis
from lstm_apps.core.export_graph import ExportGraph, GraphOf, flat_state, state_names
from lstm_apps.pipeline.app_module import AppModule
from lstm_apps.pipeline.decoded_evaluation import DecodedEvaluation
from lstm_apps.pipeline.running_mean import mean_at, running_mean
from lstm_apps.pipeline.weight_transfer import TransferParts
from lstm_apps.plots import attention_heatmap
from lstm_apps.text.scores import translation_scores
from lstm_apps.text.tokenizer import Tokenizer, fitted, tokenizer_from_json


class Translation(NamedTuple):
    """One hypothesis as text with its score; with attention asked for, the weights
    ``[target token][source token]`` and both sides' tokens as text."""

    text: str
    score: float
    attention: list[list[float]] | None = None
    source_tokens: list[str] | None = None
    target_tokens: list[str] | None = None


class Seq2SeqModel(DecodedEvaluation[str], AppModule):
    """Trains ``Seq2SeqNetwork`` (``self.net``; ``**settings`` are its ``embedding_dim``,
    ``attention``, ``encoder_layers`` …); greedy/beam decoding.

    Validation decodes with ``val_beam_size`` (greedy by default) and test with
    ``test_beam_size``; both report corpus BLEU, chrF and exact match on detokenized text.
    """

    app_name = "seq2seq"
    network = Seq2SeqNetwork
    fitted_weights = {
        "source": ("net.src_embedding.",),
        "target": ("net.decoder.embedding.", "net.decoder.output."),
    }
    transfer_parts = TransferParts(embedding="net.src_embedding", encoder="net.encoder", tokenizer="source")

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        pad_id: int,
        bos_id: int,
        eos_id: int,
        label_smoothing: Dropout = 0.1,
        val_beam_size: Positive = 1,
        test_beam_size: Positive = 5,
        length_penalty: NonNegative = 0.6,
        max_len_a: NonNegative = 1.5,
        max_len_b: Count = 10,
        log_examples: Count = 4,
        replace_unknown: bool = False,
        optimizer: Mapping[str, Any] | None = None,
        scheduler: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler)
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.net = Seq2SeqNetwork(src_vocab_size, tgt_vocab_size, pad_id, **settings)
        self.label_smoothing = label_smoothing
        self.val_beam_size, self.test_beam_size = val_beam_size, test_beam_size
        self.length_penalty = length_penalty
        self.max_len_a, self.max_len_b = max_len_a, max_len_b
        self.log_examples = log_examples
        self.replace_unknown = replace_unknown
        self.src_tokenizer: Tokenizer | None = None
        self.tgt_tokenizer: Tokenizer | None = None
        self.nll = nn.ModuleDict({"val_nll": running_mean(), "test_nll": running_mean()})
        self._decoded = []
        self._examples: list[dict[str, Any]] = []

    def on_fitted_state(self, state: dict[str, str]) -> None:
        self.src_tokenizer = tokenizer_from_json(state["source"])
        self.tgt_tokenizer = tokenizer_from_json(state["target"])

    def source_tokenizer(self) -> Tokenizer:
        """The fitted source tokenizer (the predictor encodes raw sources with it)."""
        return fitted(self.src_tokenizer, "bind_fitted_state()")

    def target_tokenizer(self) -> Tokenizer:
        """The fitted target tokenizer."""
        return fitted(self.tgt_tokenizer, "bind_fitted_state()")

    def hypothesis_text(self, hypothesis: Hypothesis, source_text: str) -> str:
        """The translation as text; with ``replace_unknown``, each ``<unk>`` is the source word
        it attended to most (``apps/seq2seq/unknown_words.py``)."""
        if not self.replace_unknown:
            return self.target_tokenizer().decode(hypothesis.tokens)
        return replace_unknown(
            self.target_tokenizer(),
            self.source_tokenizer(),
            hypothesis.tokens,
            hypothesis.attention,
            source_text,
        )

    # -- model ----------------------------------------------------------------------------------
    def encode(
        self, src: torch.Tensor, src_lengths: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, DecoderState]:
        """Memory, mask and the decoder's initial state (``Seq2SeqNetwork.encode``)."""
        return self.net.encode(src, src_lengths)

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced logits ``[B, T, V]`` and attention ``[B, T, S]``."""
        return self.net(batch["src"], batch["src_lengths"], batch["tgt_in"])

    def _loss(self, logits: torch.Tensor, targets: torch.Tensor, smoothing: float) -> torch.Tensor:
        return F.cross_entropy(
            logits.reshape(-1, logits.size(-1)).float(),
            targets.reshape(-1),
            ignore_index=self.pad_id,
            label_smoothing=smoothing,
        )

    # -- decoding -------------------------------------------------------------------------------
    @torch.no_grad()
    def decode(
        self,
        src: torch.Tensor,
        src_lengths: torch.Tensor,
        beam_size: int = 1,
        n_best: int = 1,
        alpha: float | None = None,
        max_len: int | None = None,
    ) -> list[list[Hypothesis]]:
        """Best ``n_best`` hypotheses per source sentence (greedy when ``beam_size`` is 1)."""
        limit = max_len or int(self.max_len_a * int(src_lengths.max()) + self.max_len_b)
        return self.net.search(
            src,
            src_lengths,
            self.bos_id,
            self.eos_id,
            limit,
            beam_size=beam_size,
            n_best=n_best,
            alpha=self.length_penalty if alpha is None else alpha,
        )

    def decode_batch(self, batch: Mapping[str, Any], **search: Any) -> list[list[Hypothesis]]:
        """The app's decoding entry point: a collated batch (``src``, ``src_lengths``) and the
        search settings (``beam_size``, ``n_best``, ``alpha``, ``max_len``)."""
        return self.decode(batch["src"], batch["src_lengths"], **search)

    def predict_step(self, batch: dict[str, Any], batch_idx: int = 0) -> list[tuple[int, list[Translation]]]:
        """``(index, n-best translations)`` for every source of a predictor's batch (``src``,
        ``src_lengths``, ``index``, ``source_text`` and the ``search`` settings); with
        ``with_attention`` each translation also carries its attention over the source tokens."""
        found = self.decode_batch(batch, **batch["search"])
        keep = bool(batch.get("with_attention"))
        lengths = batch["src_lengths"].tolist()
        rows = batch["src"].tolist() if keep else []
        results = []
        for row, (i, source, hyps) in enumerate(
            zip(batch["index"].tolist(), batch["source_text"], found, strict=True)
        ):
            translations = []
            for h in hyps:
                text = self.hypothesis_text(h, source)
                if keep and h.attention is not None:
                    length = lengths[row]
                    translations.append(
                        Translation(
                            text,
                            h.score,
                            h.attention[:, :length].float().cpu().tolist(),
                            [self.source_tokenizer().decode([t]) for t in rows[row][:length]],
                            [self.target_tokenizer().decode([t]) for t in h.tokens],
                        )
                    )
                else:
                    translations.append(Translation(text, h.score))
            results.append((int(i), translations))
        return results

    # -- training / evaluation ------------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        logits, _ = self(batch)
        loss = self._loss(logits, batch["tgt_out"], self.label_smoothing)
        self.log_training(batch["src"].size(0), loss=loss)
        return loss

    def _evaluate_batch(self, batch: dict[str, torch.Tensor], batch_idx: int, split: str) -> None:
        logits, _ = self(batch)
        tokens = int((batch["tgt_out"] != self.pad_id).sum())
        mean_at(self.nll, f"{split}_nll").update(self._loss(logits, batch["tgt_out"], 0.0), tokens)
        found = self.decode(batch["src"], batch["src_lengths"], beam_size=self.beam_size_for(split))
        data = self.app_data()
        texts = [
            self.hypothesis_text(hyps[0], data.example_input(split, index))
            for index, hyps in zip(batch["index"].tolist(), found, strict=True)
        ]
        self._decoded += list(zip(batch["index"].tolist(), texts, strict=True))
        if split == "val" and batch_idx == 0:
            self._keep_examples(batch, found, texts)

    def _keep_examples(
        self, batch: dict[str, torch.Tensor], found: list[list[Hypothesis]], texts: list[str]
    ) -> None:
        data = self.app_data()
        source_tokenizer, target_tokenizer = self.source_tokenizer(), self.target_tokenizer()
        self._examples = []
        for row in range(min(self.log_examples, len(found))):
            index = int(batch["index"][row])
            source_ids = batch["src"][row, : int(batch["src_lengths"][row])].tolist()
            hyp = found[row][0]
            self._examples.append(
                {
                    "source": data.example_input("val", index),
                    "reference": data.references("val")[index],
                    "hypothesis": texts[row],
                    "source_tokens": [source_tokenizer.decode([t]) for t in source_ids],
                    "target_tokens": [target_tokenizer.decode([t]) for t in hyp.tokens],
                    "attention": hyp.attention[:, : len(source_ids)].cpu()
                    if hyp.attention is not None
                    else None,
                }
            )

    def _finish_epoch(self, split: str) -> None:
        nll = mean_at(self.nll, f"{split}_nll").compute()
        mean_at(self.nll, f"{split}_nll").reset()
        hypotheses, references = self.decoded_with_references(split)
        scores = translation_scores(hypotheses, references)
        self.log(f"{split}/loss", nll, sync_dist=True)
        self.log(f"{split}/ppl", torch.exp(nll), sync_dist=True)
        for name, value in scores.items():
            self.log(f"{split}/{name}", value, prog_bar=name in ("bleu", "exact_match"), rank_zero_only=True)

    # -- what people see ------------------------------------------------------------------------
    def validation_samples(self) -> dict[str, str]:
        rows = ["| source | reference | hypothesis |", "|---|---|---|"]
        rows += [f"| {e['source']} | {e['reference']} | {e['hypothesis']} |" for e in self._examples]
        return {"samples/translations": "\n".join(rows)} if self._examples else {}

    def validation_images(self) -> dict[str, torch.Tensor]:
        return {
            f"attention/example_{i}": attention_heatmap(e["attention"])
            for i, e in enumerate(self._examples)
            if e["attention"] is not None and e["attention"].numel()
        }

    def export_graphs(self) -> list[ExportGraph]:
        """``encoder``: source ids ``[B, S]`` -> memory and the decoder's initial state;
        ``decoder_step``: one step of the attention decoder (see ``pipeline/export.py``)."""
        net = self.net
        cells = state_names(net.decoder.rnn.cell, "initial_")

        def encoder_outputs(src: torch.Tensor) -> tuple[torch.Tensor, ...]:
            memory, _, state = net.encode(src, None)
            return (memory, *flat_state(state.recurrent_state()))

        vocab = net.src_embedding.num_embeddings
        axes = {"source_ids": {0: "batch", 1: "source"}, "memory": {0: "batch", 1: "source"}}
        axes.update({name: {1: "batch"} for name in cells})
        encoder = ExportGraph(
            "encoder",
            GraphOf(net, encoder_outputs),
            lambda n: (torch.randint(0, vocab, (n, 3 + n)),),
            ["source_ids"],
            ["memory", *cells],
            axes,
        )
        step = decoder_step_graph(
            net.decoder,
            net.encoder.output_size,
            {"bos_id": self.bos_id, "eos_id": self.eos_id, "pad_id": self.pad_id},
        )
        return [encoder, step]
