"""The end-to-end speech network: front-end, convolutional subsampling, recurrent encoder, CTC head.

Sized for a CPU: the learned filterbank gives 100 frames a second; a subsampling stage of two
convolutions brings that to 50, where a bidirectional GRU of `width` units and `depth` layers
reads the whole clip; a linear layer gives every frame a distribution over the blank and the
characters. SpecAugment-style masks are applied to the front-end output while training.

The subsampling convolves over band and time with small shared kernels and max-pools
neighbouring bands, so that the same vowel spoken by a longer or shorter vocal tract (formants a
band or two higher or lower) gives nearly the same encoder input. (Convolving over time only,
every band a channel, scored 2.7 points lower on FSDD: docs/experiments.md.)
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .augment import spec_mask
from .frontend import make_frontend


class TimeFrequencySubsample(nn.Module):
    """Two 2-D convolutions over (band, time), each followed by max-pooling over bands. (B, F, T) -> (B, W, T/2)

    The same small kernels slide along the frequency axis, and pooling over neighbouring bands
    lets a formant move by a band or two without changing the output: the shift a different
    vocal tract or microphone gives the same vowel. The first convolution already halves the
    frame rate and both are narrow (16 channels), which keeps the 2-D stage cheap on a CPU.
    """

    def __init__(self, n_filters: int, width: int, dropout: float, channels: int = 16):
        super().__init__()
        self.first = nn.Sequential(nn.Conv2d(1, channels, 3, stride=(1, 2), padding=1), nn.BatchNorm2d(channels),
                                   nn.GELU())
        self.second = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.GELU())
        bands = -(-n_filters // 4)  # two halvings, each rounded up, leave ceil(F / 4)
        self.project = nn.Sequential(nn.Conv1d(channels * bands, width, kernel_size=3, padding=1),
                                     nn.BatchNorm1d(width), nn.GELU(), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _pool_band_pairs(self.second(_pool_band_pairs(self.first(x[:, None]))))  # (B, C, F/4, T/2)
        return self.project(x.flatten(1, 2))


def _pool_band_pairs(x: torch.Tensor) -> torch.Tensor:
    """Max over neighbouring pairs of bands, (B, C, F, T) -> (B, C, ceil(F/2), T).

    One element-wise maximum of the even and odd bands: several times faster on a CPU than
    max_pool2d with a (2, 1) window.
    """
    if x.shape[2] % 2:
        x = torch.cat([x, x[:, :, -1:]], dim=2)
    return torch.maximum(x[:, :, 0::2], x[:, :, 1::2])


class SpeechCTCModel(nn.Module):
    """Waveform (B, N) + lengths (B,) -> per-frame log-probabilities (B, T', V) + frame counts (B,)."""

    def __init__(self, n_labels: int, sample_rate: int = 8000, frontend: str = "sinc", n_filters: int = 40,
                 width: int = 128, depth: int = 2, dropout: float = 0.15, time_masks: int = 2, freq_masks: int = 2,
                 time_mask_frames: int = 8, freq_mask_bands: int = 6, floor_db: float | None = None):
        super().__init__()
        self.frontend = make_frontend(frontend, sample_rate, n_filters, floor_db)
        self.time_masks, self.freq_masks = time_masks, freq_masks
        self.time_mask_frames, self.freq_mask_bands = time_mask_frames, freq_mask_bands
        self.input_norm = nn.BatchNorm1d(n_filters)
        self.subsample = TimeFrequencySubsample(n_filters, width, dropout)
        self.rnn = nn.GRU(width, width, num_layers=depth, batch_first=True, bidirectional=True,
                          dropout=dropout if depth > 1 else 0.0)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * width, n_labels))

    @property
    def samples_per_frame(self) -> int:
        """Waveform samples per output frame."""
        return self.frontend.samples_per_frame * 2

    def features(self, waveform: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Front-end output (B, F, T) and its frame counts, masked while training."""
        feats, frames = self.frontend(waveform, lengths)  # (B, F, T)
        if self.training:
            feats = spec_mask(feats, frames, self.time_masks, self.time_mask_frames, self.freq_masks, self.freq_mask_bands)
        return feats, frames

    def encode(self, feats: torch.Tensor, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder output (B, T', 2 * width) and its frame counts, from front-end output (B, F, T)."""
        x = self.subsample(self.input_norm(feats)).transpose(1, 2)  # (B, T', C)
        frames = torch.div(frames + 1, 2, rounding_mode="floor").clamp(min=1, max=x.shape[1])
        packed = nn.utils.rnn.pack_padded_sequence(x, frames.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])  # (B, T', 2C)
        return out, frames

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats, frames = self.features(waveform, lengths)
        encoded, frames = self.encode(feats, frames)
        return self.head(encoded).log_softmax(-1), frames  # (B, T', V)
