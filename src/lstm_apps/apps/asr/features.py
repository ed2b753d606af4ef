"""Log-mel filterbank features and SpecAugment, as batched tensor ops (``torch.stft`` and one
matrix product), so they run on the device beside the network with no per-utterance loop.

torchaudio would bring its own torch pins; the filterbank is a few lines: HTK mel scale,
triangular filters over the power spectrum of Hann windows (Kaldi/ESPnet ``fbank`` without
dithering or pre-emphasis).
"""

from __future__ import annotations

import math

import torch
from torch import nn

LOG_FLOOR = 1e-6  # added to the mel energies before the log: digital silence stays finite


def hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(
    n_fft: int, n_mels: int, sample_rate: int, f_min: float = 0.0, f_max: float | None = None
) -> torch.Tensor:
    """``[n_fft // 2 + 1, n_mels]`` triangular filters, equally spaced on the mel scale."""
    top = f_max if f_max is not None else sample_rate / 2
    edges = mel_to_hz(
        torch.linspace(
            float(hz_to_mel(torch.tensor(f_min))),
            float(hz_to_mel(torch.tensor(top))),
            n_mels + 2,
            dtype=torch.float64,
        )
    )
    bins = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64).unsqueeze(1)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins - lower) / (centre - lower)
    falling = (upper - bins) / (upper - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()


class LogMelFeatures(nn.Module):
    """Waveforms ``[B, S]`` (int16 or float in [-1, 1]) -> log-mel features ``[B, T, n_mels]``.

    Hann windows of ``window_ms`` every ``hop_ms`` (25 and 10 ms: 100 frames a second), each in
    an FFT frame of the next power of two (512 samples at 16 kHz); frames are not centred: an
    utterance of ``n`` samples has ``1 + (n - n_fft) // hop`` frames, so frames never reach into
    the padding of a batch. Computed in float32 whatever the autocast precision.
    """

    hann: torch.Tensor
    filters: torch.Tensor

    def __init__(self, sample_rate: int, n_mels: int, window_ms: float, hop_ms: float) -> None:
        super().__init__()
        self.sample_rate, self.n_mels = sample_rate, n_mels
        self.window = round(sample_rate * window_ms / 1000)
        self.hop = round(sample_rate * hop_ms / 1000)
        self.n_fft = 1 << math.ceil(math.log2(self.window))
        self.register_buffer("hann", torch.hann_window(self.window), persistent=False)
        self.register_buffer("filters", mel_filterbank(self.n_fft, n_mels, sample_rate), persistent=False)

    def frames(self, samples: torch.Tensor) -> torch.Tensor:
        """Frame counts of utterances of ``samples`` samples (host tensors stay on the host)."""
        return torch.clamp(torch.div(samples - self.n_fft, self.hop, rounding_mode="floor") + 1, min=0)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        waveform = audio.float() / 32768.0 if not audio.is_floating_point() else audio.float()
        with torch.autocast(waveform.device.type, enabled=False):
            spectrum = torch.stft(
                waveform,
                self.n_fft,
                hop_length=self.hop,
                win_length=self.window,
                window=self.hann,
                center=False,
                return_complex=True,
            )
            power = spectrum.real.square() + spectrum.imag.square()  # [B, F, T]
            mel = torch.matmul(power.transpose(1, 2), self.filters)
            return torch.log(mel + LOG_FLOOR)


class SpecAugment(nn.Module):
    """Frequency and time masks (Park et al. 2019), drawn per utterance as tensors; active in
    training only. ``freq_masks`` bands of up to ``freq_width`` mel bins and ``time_masks`` spans
    of up to ``time_width`` frames (never more than a fifth of the utterance) are set to 0, the
    mean of normalised features."""

    def __init__(self, freq_masks: int, freq_width: int, time_masks: int, time_width: int) -> None:
        super().__init__()
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.time_masks, self.time_width = time_masks, time_width

    @staticmethod
    def _spans(count: int, widest: torch.Tensor, extent: torch.Tensor, size: int) -> torch.Tensor:
        """``[B, size]`` True inside ``count`` random spans per row, each of width below
        ``widest`` (per row) and within ``extent`` (per row)."""
        rows = widest.size(0)
        width = (torch.rand(rows, count, device=widest.device) * (widest.unsqueeze(1) + 1)).floor()
        start = (
            torch.rand(rows, count, device=widest.device) * (extent.unsqueeze(1) - width).clamp(min=0)
        ).floor()
        position = torch.arange(size, device=widest.device).view(1, 1, size)
        inside = (position >= start.unsqueeze(2)) & (position < (start + width).unsqueeze(2))
        return inside.any(dim=1)

    def forward(self, features: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return features
        rows, length, bins = features.shape
        device = features.device
        masked = torch.zeros(rows, length, bins, dtype=torch.bool, device=device)
        if self.freq_masks and self.freq_width:
            full = torch.full((rows,), float(bins), device=device)
            widest = torch.full((rows,), float(min(self.freq_width, bins)), device=device)
            masked |= self._spans(self.freq_masks, widest, full, bins).unsqueeze(1)
        if self.time_masks and self.time_width:
            extent = frames.to(device, non_blocking=True).float()
            widest = torch.minimum(extent / 5, torch.full_like(extent, float(self.time_width)))
            masked |= self._spans(self.time_masks, widest, extent, length).unsqueeze(2)
        return features.masked_fill(masked, 0.0)
