"""The speech recogniser's network, a plain ``nn.Module``: waveforms -> log-mel features ->
normalisation (training-set statistics) -> SpecAugment -> a convolutional front end that
subsamples time -> the shared bidirectional recurrent block (packed) -> characters (or BPE
pieces) + the CTC blank (Graves et al. 2006/2013; DeepSpeech 2). Built, run and exported without Lightning;
``SpeechModel`` trains it."""

from __future__ import annotations

import math
import random
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from annotated_types import Ge, Le
from torch import nn

from lstm_apps.apps.asr.features import LogMelFeatures, SpecAugment
from lstm_apps.bounds import Count, Dropout, NonNegative, Positive
from lstm_apps.core.recurrent import CellType, RecurrentBlock

KERNEL = 5  # frames each front-end convolution sees
SpeedRange = Annotated[float, Ge(0), Le(0.5)]
"""How far the training speed factor may stray from 1 (0: off)."""
# subsampling factor -> the strides of the two front-end convolutions
STRIDES: dict[int, tuple[int, int]] = {1: (1, 1), 2: (2, 1), 3: (3, 1), 4: (2, 2)}


def conv_lengths(frames: torch.Tensor, stride: int) -> torch.Tensor:
    """Output lengths of a kernel-``KERNEL`` convolution padded by ``KERNEL // 2``."""
    return torch.div(frames - 1, stride, rounding_mode="floor") + 1


class SpeechNetwork(nn.Module):
    """``units``: the output units, characters or BPE pieces (index 0 is the CTC blank, ``""``). The feature settings
    (``sample_rate``, ``n_mels``, ``window_ms``, ``hop_ms``) and the normalisation statistics come
    from the data. Training-only augmentation: SpecAugment (``freq_masks`` x up to
    ``freq_mask_width`` bins, ``time_masks`` x up to ``time_mask_width`` frames), a gain drawn per
    utterance within +-``gain_db``, and a speed factor drawn per batch within
    1 +- ``speed_perturbation`` (resampling, which changes tempo and pitch together as Kaldi's
    speed perturbation does)."""

    feature_mean: torch.Tensor
    feature_std: torch.Tensor

    def __init__(
        self,
        units: list[str],
        sample_rate: int,
        n_mels: int,
        window_ms: float,
        hop_ms: float,
        feature_mean: list[float],
        feature_std: list[float],
        subsampling: Literal[1, 2, 3, 4] = 4,
        conv_channels: Positive = 192,
        hidden_size: Positive = 256,
        num_layers: Positive = 2,
        cell: CellType = "lstm",
        dropout: Dropout = 0.2,
        freq_masks: Count = 2,
        freq_mask_width: Count = 15,
        time_masks: Count = 2,
        time_mask_width: Count = 20,
        gain_db: NonNegative = 6.0,
        speed_perturbation: SpeedRange = 0.1,
    ) -> None:
        super().__init__()
        self.units = list(units)
        self.blank_id = 0
        self.gain_db, self.speed_perturbation = gain_db, speed_perturbation
        self.strides = STRIDES[subsampling]
        self.features = LogMelFeatures(sample_rate, n_mels, window_ms, hop_ms)
        self.register_buffer("feature_mean", torch.tensor(feature_mean, dtype=torch.float32))
        self.register_buffer("feature_std", torch.tensor(feature_std, dtype=torch.float32))
        self.augment = SpecAugment(freq_masks, freq_mask_width, time_masks, time_mask_width)
        first, second = self.strides
        self.front_end = nn.ModuleList(
            [
                nn.Conv1d(n_mels, conv_channels, KERNEL, stride=first, padding=KERNEL // 2),
                nn.Conv1d(conv_channels, conv_channels, KERNEL, stride=second, padding=KERNEL // 2),
            ]
        )
        self.encoder = RecurrentBlock(
            conv_channels, hidden_size, num_layers, cell, bidirectional=True, dropout=dropout
        )
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(self.encoder.output_size, len(self.units))

    # -- lengths --------------------------------------------------------------------------------
    def frame_lengths(self, samples: torch.Tensor) -> torch.Tensor:
        """Feature frames of utterances of ``samples`` samples."""
        return self.features.frames(samples)

    def output_lengths(self, frames: torch.Tensor) -> torch.Tensor:
        """Output steps (CTC frames) of utterances of ``frames`` feature frames."""
        for stride in self.strides:
            frames = conv_lengths(frames, stride)
        return frames

    # -- the network ----------------------------------------------------------------------------
    def forward(self, audio: torch.Tensor, audio_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveforms ``[B, S]`` and their sample counts ``[B]`` (on the host) -> log-probabilities
        ``[B, T, C]`` (float32) and output lengths ``[B]`` (on the host)."""
        if self.training and self.speed_perturbation > 0:
            audio, audio_lengths = self._change_speed(audio, audio_lengths)
        features = self.features(audio)
        frames = self.frame_lengths(audio_lengths).clamp(max=features.size(1))
        if self.training and self.gain_db > 0:
            gain = (torch.rand(features.size(0), 1, 1, device=features.device) * 2 - 1) * self.gain_db
            features = features + gain * (math.log(10) / 10)
        normalised = self.augment(self.normalise(features), frames)
        return self.encode(normalised, frames)

    def normalise(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.feature_mean) / self.feature_std

    def encode(
        self, normalised: torch.Tensor, frames: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised features ``[B, T, n_mels]`` -> log-probabilities and output lengths; with
        ``frames`` (host) the padding is zeroed and the recurrence packed."""
        hidden = normalised
        lengths = frames
        for conv, stride in zip(self.front_end, self.strides, strict=True):
            if lengths is not None:  # padding enters each convolution as zeros, as at the edges
                hidden = hidden * _inside(lengths, hidden.size(1), hidden.device).unsqueeze(2)
            hidden = F.gelu(conv(hidden.transpose(1, 2))).transpose(1, 2)
            if lengths is not None:
                lengths = conv_lengths(lengths, stride)
        if lengths is not None:
            lengths = lengths.clamp(min=1, max=hidden.size(1))
        encoded, _ = self.encoder(self.dropout(hidden), lengths)
        log_probs = self.output(self.dropout(encoded)).float().log_softmax(-1)
        if lengths is None:
            lengths = torch.full((hidden.size(0),), hidden.size(1), dtype=torch.long)
        return log_probs, lengths

    def recognise(self, features: torch.Tensor) -> torch.Tensor:
        """Log-mel features ``[B, T, n_mels]`` (un-normalised, all frames real) ->
        log-probabilities ``[B, T', C]``: the exported graph."""
        return self.encode(self.normalise(features), None)[0]

    def _change_speed(self, audio: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch resampled by one factor drawn on the host (no wait for the device)."""
        factor = 1.0 + (random.random() * 2 - 1) * self.speed_perturbation  # seeded by seed_everything
        waveform = audio.float() if audio.is_floating_point() else audio.float() / 32768.0
        size = max(1, round(audio.size(1) / factor))
        resampled = F.interpolate(waveform.unsqueeze(1), size=size, mode="linear", align_corners=False)
        return resampled.squeeze(1), torch.div(lengths * size, audio.size(1), rounding_mode="floor")


def _inside(lengths: torch.Tensor, size: int, device: torch.device) -> torch.Tensor:
    """``[B, size]`` 1.0 within each length, 0.0 beyond; made on the host (where the lengths are)
    and copied without waiting."""
    inside = (torch.arange(size).unsqueeze(0) < lengths.unsqueeze(1)).float()
    if device.type == "cuda":  # only a copy from page-locked memory leaves the host free to go on
        inside = inside.pin_memory()
    return inside.to(device, non_blocking=True)
