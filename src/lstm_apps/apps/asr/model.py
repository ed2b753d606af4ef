"""Speech recogniser: log-mel features -> convolutional front end -> BiLSTM (shared core) -> CTC
over characters or BPE pieces; greedy or prefix beam search decoding with an optional n-gram LM
over the same units;
word and character error rates."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.functional.text import char_error_rate, word_error_rate

from lstm_apps.apps.asr.ctc_search import greedy_search, prefix_beam_search
from lstm_apps.apps.asr.datamodule import SpeechDataModule
from lstm_apps.apps.asr.network import SpeechNetwork
from lstm_apps.apps.asr.ngram_lm import StoredLanguageModel, UnitNgram
from lstm_apps.apps.asr.units import OutputUnits
from lstm_apps.bounds import Count, NonNegative, Positive
from lstm_apps.core.export_graph import ExportGraph, GraphOf
from lstm_apps.pipeline.app_module import AppModule
from lstm_apps.pipeline.decoded_evaluation import DecodedEvaluation
from lstm_apps.pipeline.running_mean import mean_at, running_mean
from lstm_apps.plots import heatmap_image


class SpeechModel(DecodedEvaluation[str], AppModule):
    """Trains ``SpeechNetwork`` (``self.net``; ``**settings`` are its ``hidden_size``,
    ``subsampling``, SpecAugment …) with the CTC loss. Validation decodes with ``val_beam_size``,
    test with ``test_beam_size`` (1: greedy). The beam search adds a character ``lm_order``-gram
    with weight ``lm_weight`` and a bonus of ``lm_bonus`` per character: the one of ``lm_path``
    (a text file, turned into units as the transcripts are, or a model saved by
    ``UnitNgram.save``), else, with ``lm_from_transcripts``,
    one counted on the training transcripts' units when training starts and kept in the checkpoint."""

    app_name = "asr"
    fitted_weights = {"units": ("net.output.",)}
    network = SpeechNetwork

    def __init__(
        self,
        units: list[str],
        sample_rate: int,
        n_mels: int,
        window_ms: float,
        hop_ms: float,
        feature_mean: list[float],
        feature_std: list[float],
        val_beam_size: Positive = 1,
        test_beam_size: Positive = 8,
        lm_from_transcripts: bool = True,
        lm_path: str | None = None,
        lm_order: Positive = 6,
        lm_weight: NonNegative = 0.5,
        lm_bonus: float = 0.5,
        log_examples: Count = 4,
        optimizer: Mapping[str, Any] | None = None,
        scheduler: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler)
        self.units = list(units)
        self.output_units: OutputUnits | None = None  # from the fitted state: decoding, LM text
        self.sample_rate = sample_rate
        self.val_beam_size, self.test_beam_size = val_beam_size, test_beam_size
        self.lm_from_transcripts = lm_from_transcripts
        self.lm_path, self.lm_order, self.lm_weight, self.lm_bonus = lm_path, lm_order, lm_weight, lm_bonus
        self.log_examples = log_examples
        self.net = SpeechNetwork(
            self.units, sample_rate, n_mels, window_ms, hop_ms, feature_mean, feature_std, **settings
        )
        self.eval_loss = nn.ModuleDict({"val": running_mean(), "test": running_mean()})
        self._decoded = []
        self._lm: UnitNgram | None = None  # the one read from a file, and which file
        self._lm_source: tuple[str, int] | None = None
        # The n-gram counted on the training transcripts (lm_from_transcripts): buffers, so
        # that it is saved and loaded with the weights.
        self.transcript_lm = StoredLanguageModel()
        self._examples: list[dict[str, Any]] = []

    # -- decoding -------------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        data = getattr(self._trainer, "datamodule", None)
        if not isinstance(data, SpeechDataModule):  # fitted on bare loaders: no transcripts to count
            return
        if self.lm_from_transcripts and self.transcript_lm.language_model(self.units) is None:
            self.transcript_lm.store(self.count_transcripts(data))

    def on_fitted_state(self, state: dict[str, str]) -> None:
        self.output_units = OutputUnits.from_state(state)

    def count_transcripts(self, data: SpeechDataModule) -> UnitNgram:
        """The ``lm_order``-gram of the training transcripts' unit ids, or of the corpus's own LM
        text where it has one (``SpeechDataModule.language_model_sequences``)."""
        return UnitNgram.count(data.language_model_sequences(), self.units, self.lm_order)

    def language_model(self, path: str | None = None, order: int | None = None) -> UnitNgram | None:
        """The n-gram of ``path`` (default ``lm_path``): trained from a text file, or loaded from
        an ``.npz`` saved by ``UnitNgram.save``; without one, the transcripts' n-gram kept in the
        checkpoint, if any."""
        path = path or self.lm_path
        if not path:
            return self.transcript_lm.language_model(self.units)
        source = (str(path), order or self.lm_order)
        if self._lm is None or self._lm_source != source:
            if source[0].endswith(".npz"):
                self._lm = UnitNgram.load(source[0], self.units)
            else:
                units = self.output_units
                if units is None:
                    raise RuntimeError("the model has no units; bind_fitted_state() first")
                encode = partial(units.encode, where="lm", unknown="drop")
                self._lm = UnitNgram.from_text_file(source[0], encode, self.units, source[1])
            self._lm_source = source
        return self._lm.to(self.device)

    def transcripts(
        self,
        log_probs: torch.Tensor,
        lengths: torch.Tensor,
        beam_size: int = 1,
        lm: UnitNgram | None = None,
        lm_weight: float | None = None,
        lm_bonus: float | None = None,
        n_best: int = 1,
    ) -> list[list[str]]:
        """The ``n_best`` texts of each utterance of a batch of CTC outputs, best first: the best
        path for ``beam_size`` 1 without an LM, else the prefix beam search."""
        if beam_size == 1 and lm is None:
            ids = [[row] for row in greedy_search(log_probs, lengths)]
        else:
            ids = prefix_beam_search(
                log_probs,
                lengths,
                beam_size,
                lm=lm,
                lm_weight=self.lm_weight if lm_weight is None else lm_weight,
                lm_bonus=self.lm_bonus if lm_bonus is None else lm_bonus,
                n_best=n_best,
            )
        return [[self.text_of(hypothesis) for hypothesis in row] for row in ids]

    def text_of(self, ids: list[int]) -> str:
        """The text of unit ids (blanks and repeats already removed)."""
        if self.output_units is not None:
            return self.output_units.decode(ids)
        return "".join(self.units[i] for i in ids)

    @torch.no_grad()
    def decode_batch(
        self,
        batch: dict[str, torch.Tensor],
        beam_size: int = 1,
        lm: UnitNgram | None = None,
        lm_weight: float | None = None,
        lm_bonus: float | None = None,
        n_best: int = 1,
    ) -> list[list[str]]:
        """The app's decoding entry point: the ``n_best`` transcripts of each utterance of a
        collated batch, best first."""
        with self.evaluating():
            log_probs, lengths = self.net(batch["audio"], batch["audio_lengths"])
        return self.transcripts(log_probs, lengths, beam_size, lm, lm_weight, lm_bonus, n_best)

    def predict_step(self, batch: dict[str, Any], batch_idx: int = 0) -> list[tuple[int, str]]:
        """``(index, best transcript)`` for every utterance of a predictor's batch; its ``search``
        entry holds the decoding settings."""
        texts = self.decode_batch(batch, **batch.get("search", {}))
        return list(zip(batch["index"].tolist(), [row[0] for row in texts], strict=True))

    # -- training / evaluation ------------------------------------------------------------------
    def ctc_loss(
        self, log_probs: torch.Tensor, lengths: torch.Tensor, batch: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """Mean CTC loss per target character; impossible alignments (too short for their
        transcript) count 0 instead of infinity."""
        return F.ctc_loss(
            log_probs.transpose(0, 1),
            batch["labels"],
            lengths,
            batch["label_lengths"],
            blank=0,
            reduction="mean",
            zero_infinity=True,
        )

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        log_probs, lengths = self.net(batch["audio"], batch["audio_lengths"])
        loss = self.ctc_loss(log_probs, lengths, batch)
        self.log_training(batch["audio"].size(0), loss=loss)
        return loss

    def _evaluate_batch(self, batch: dict[str, torch.Tensor], batch_idx: int, split: str) -> None:
        log_probs, lengths = self.net(batch["audio"], batch["audio_lengths"])
        mean_at(self.eval_loss, split).update(
            self.ctc_loss(log_probs, lengths, batch), batch["audio"].size(0)
        )
        lm = self.language_model() if self.beam_size_for(split) > 1 else None
        texts = [row[0] for row in self.transcripts(log_probs, lengths, self.beam_size_for(split), lm)]
        indices = batch["index"].tolist()
        self._decoded += list(zip(indices, texts, strict=True))
        if split == "val" and batch_idx == 0 and self.log_examples:
            self._keep_examples(batch, log_probs, lengths, indices, texts)

    def _keep_examples(
        self,
        batch: dict[str, torch.Tensor],
        log_probs: torch.Tensor,
        lengths: torch.Tensor,
        indices: list[int],
        texts: list[str],
    ) -> None:
        data = self.app_data()
        shown = min(self.log_examples, len(indices))
        audio_lengths = batch["audio_lengths"][:shown].tolist()
        audio = batch["audio"][:shown].float().cpu() / 32768.0
        with torch.no_grad():
            features = self.net.normalise(self.net.features(batch["audio"][:1]))[0].cpu()
        self._examples = [
            {
                "audio": audio[i, : audio_lengths[i]],
                "file": data.example_input("val", indices[i]),
                "reference": data.references("val")[indices[i]],
                "hypothesis": texts[i],
            }
            for i in range(shown)
        ]
        steps = int(lengths[0])
        self._examples[0]["features"] = features[
            : int(self.net.frame_lengths(batch["audio_lengths"][:1].cpu())[0])
        ]
        self._examples[0]["posteriors"] = log_probs[0, :steps].exp().float().cpu()

    def _finish_epoch(self, split: str) -> None:
        loss = mean_at(self.eval_loss, split).compute()
        mean_at(self.eval_loss, split).reset()
        hypotheses, references = self.decoded_with_references(split)
        self.log(f"{split}/loss", loss, sync_dist=True)
        # Every process scores the gathered transcripts of all processes, so the values agree.
        self.log(f"{split}/wer", word_error_rate(hypotheses, list(references)), prog_bar=True, sync_dist=True)
        self.log(f"{split}/cer", char_error_rate(hypotheses, list(references)), sync_dist=True)

    # -- what people see ------------------------------------------------------------------------
    def validation_samples(self) -> dict[str, str]:
        if not self._examples:
            return {}
        rows = ["| audio | reference | hypothesis |", "|---|---|---|"]
        rows += [
            f"| samples/audio_{i} ({e['file']}) | {e['reference']} | {e['hypothesis']} |"
            for i, e in enumerate(self._examples)
        ]
        return {"samples/transcripts": "\n".join(rows)}

    def validation_images(self) -> dict[str, torch.Tensor]:
        if not self._examples or "features" not in self._examples[0]:
            return {}
        first = self._examples[0]
        return {
            "samples/log_mel": heatmap_image(first["features"].T, cell=2),
            "samples/ctc_posteriors": heatmap_image(first["posteriors"].T, cell=4),
        }

    def validation_audio(self) -> dict[str, tuple[torch.Tensor, int]]:
        return {f"samples/audio_{i}": (e["audio"], self.sample_rate) for i, e in enumerate(self._examples)}

    def export_graphs(self) -> list[ExportGraph]:
        """``log_probs``: log-mel features ``[B, T, n_mels]`` (as ``LogMelFeatures`` computes them,
        un-normalised) -> log-probabilities ``[B, T', C]``; the units (index 0 the blank) and the
        feature settings go to ``log_probs.json``."""
        net = self.net

        def recognise(features: torch.Tensor) -> tuple[torch.Tensor, ...]:
            return (net.recognise(features),)

        def make_inputs(n: int) -> tuple[torch.Tensor, ...]:
            return (net.feature_mean + net.feature_std * torch.randn(n, 30 + 7 * n, net.features.n_mels),)

        extras: dict[str, object] = {
            "units": self.units,
            "blank": 0,
            "sample_rate": net.features.sample_rate,
            "n_mels": net.features.n_mels,
            "window_samples": net.features.window,
            "hop_samples": net.features.hop,
            "n_fft": net.features.n_fft,
            "subsampling": net.strides[0] * net.strides[1],
        }
        axes = {"features": {0: "batch", 1: "frames"}, "log_probs": {0: "batch", 1: "steps"}}
        graph = GraphOf(net, recognise)
        return [ExportGraph("log_probs", graph, make_inputs, ["features"], ["log_probs"], axes, extras)]
