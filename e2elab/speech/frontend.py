"""Front-ends that turn a waveform into a sequence of band energies.

`SincFilterbank` (the default) is learned: a bank of band-pass filters whose two cut-off
frequencies are the only parameters of each filter (SincNet, Ravanelli & Bengio 2018),
initialised on the mel scale and then moved by back-propagation together with the rest of the
network. Its band energies are taken by squaring, low-pass smoothing with a Hann window and
down-sampling to one frame per `hop_ms`, then log-compressed.

`LogMelFrontend` is the fixed, hand-made counterpart (STFT power through triangular mel filters,
then log), chosen with ``frontend="logmel"`` to compare a learned front-end with a fixed one.

Both then normalise the log energies over the clip: subtract the straight line (over band
index) that best fits the clip's mean spectrum, then divide by the spread over all bands and
frames. The recording level and the overall slope of the microphone's colouring (a bright or a
dull set-up) go; the shape of the spectrum between its ends, where a vowel's formants live,
stays. Finer colouring is left for the network to learn to ignore, with the random equaliser of
the augmentation as teacher. Normalising each band on its own (cepstral mean and variance
normalisation) removes a fixed colouring exactly, but also most of a short clip's phonetic
content (a one-word clip is mostly one vowel, so its mean spectrum is that vowel's); it and a
plain level normalisation scored 8 and 5 points lower on FSDD's hardest speaker
(docs/experiments.md).

Before the log, the energies are floored `floor_db` below the clip's mean band energy, so that
the hiss of a quiet recording (which differs from one set-up to the next and says nothing
about the words) is not magnified into large negative logs.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def _frames(lengths: torch.Tensor, hop: int) -> torch.Tensor:
    """Number of output frames for waveforms of `lengths` samples at `hop` samples per frame."""
    return torch.div(lengths + hop - 1, hop, rounding_mode="floor").clamp(min=1)


def _normalise(logs: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """Zero mean and unit spread over the valid frames, after removing the clip's tilt. (B, F, T)

    The straight line (over band index) that best fits the clip's mean spectrum is subtracted,
    so the level and the overall slope of the colouring go and the shape of the formants stays.
    The padding is zeroed. The spread is floored (0.1 in log units) so that a clip that barely
    moves is not blown up.
    """
    mask = (torch.arange(logs.shape[-1], device=logs.device)[None, :] < frames[:, None]).to(logs.dtype)  # (B, T)
    band_means = (logs * mask[:, None, :]).sum(-1, keepdim=True) / frames[:, None, None].to(logs.dtype)  # (B, F, 1)
    x = torch.linspace(-1.0, 1.0, logs.shape[1], device=logs.device, dtype=logs.dtype)[None, :, None]  # (1, F, 1)
    level = band_means.mean(1, keepdim=True)
    slope = ((band_means - level) * x).sum(1, keepdim=True) / x.pow(2).sum()
    centred = (logs - (level + slope * x)) * mask[:, None, :]
    count = frames[:, None, None].to(logs.dtype) * logs.shape[1]
    std = (centred.pow(2).sum((-2, -1), keepdim=True) / count).sqrt()
    return centred / (std + 0.1)


def _log_energies(energy: torch.Tensor, frames: torch.Tensor, floor_db: float | None) -> torch.Tensor:
    """log(energy + floor), the floor `floor_db` below the clip's mean band energy (None: a tiny constant). (B, F, T)"""
    if floor_db is None:
        return torch.log(energy + 1e-8)
    mask = (torch.arange(energy.shape[-1], device=energy.device)[None, :] < frames[:, None]).to(energy.dtype)  # (B, T)
    mean = (energy * mask[:, None, :]).sum((1, 2)) / (frames.to(energy.dtype) * energy.shape[1])  # (B,)
    floor = mean * 10 ** (-floor_db / 10) + 1e-10
    return torch.log(energy + floor[:, None, None])


def _unit_rms(waveform: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Scale each clip to unit RMS over its valid samples, so the recording level does not matter. (B, N)"""
    power = waveform.pow(2).sum(-1) / lengths.clamp(min=1).to(waveform.dtype)  # (B,)
    return waveform / (power.sqrt() + 1e-5)[:, None]


def smooth_and_decimate(x: torch.Tensor, window: torch.Tensor, hop: int) -> torch.Tensor:
    """Weighted sums of `x` under `window`, centred every `hop` samples. (..., N) -> (..., T)

    The same as conv1d(x, window, stride=hop, padding=len(window) // 2) with T = (N - 1) // hop + 1
    for an odd window, but as one small matrix product: the signal is cut into blocks of `hop`
    samples, each block is weighted by every hop-long piece of the window, and each output sums
    its pieces from the neighbouring blocks. A single-channel strided convolution over thousands
    of rows is slow on CPUs, its backward pass slower still.
    """
    k, n = window.numel(), x.shape[-1]
    frames = (n + 2 * (k // 2) - k) // hop + 1
    pieces = -(-k // hop)  # blocks each output reaches into
    blocks = frames + pieces - 1
    padded = F.pad(x, (k // 2, blocks * hop - n - k // 2))  # (..., blocks * hop)
    weights = F.pad(window, (0, pieces * hop - k)).view(pieces, hop).T  # (hop, pieces)
    partial = padded.unflatten(-1, (blocks, hop)) @ weights.to(x.dtype)  # (..., blocks, pieces)
    return sum(partial[..., j:j + frames, j] for j in range(pieces))


class SincFilterbank(nn.Module):
    """Learnable band-pass filterbank on the raw waveform, initialised on the mel scale.

    Input (B, N) waveforms with their lengths (B,); output (B, n_filters, T) log band energies
    (T = ceil(N / hop)) and the frame counts (B,).
    """

    def __init__(self, sample_rate: int = 8000, n_filters: int = 40, kernel_ms: float = 16.0, window_ms: float = 25.0,
                 hop_ms: float = 10.0, conv_stride: int = 2, min_hz: float = 50.0, min_band_hz: float = 50.0,
                 floor_db: float | None = None):
        super().__init__()
        self.sample_rate = sample_rate
        self.floor_db = floor_db
        self.conv_stride = conv_stride
        self.min_hz = min_hz
        self.min_band_hz = min_band_hz
        kernel = int(sample_rate * kernel_ms / 1000) | 1  # odd, so the filters are centred
        nyquist = sample_rate / 2
        edges = mel_to_hz(np.linspace(hz_to_mel(min_hz), hz_to_mel(nyquist - min_band_hz), n_filters + 1))
        # Cut-offs are learned in Hz; low = min_hz + |low_|, high = low + min_band + |band_|.
        self.low_hz_ = nn.Parameter(torch.tensor(edges[:-1] - min_hz, dtype=torch.float32))
        self.band_hz_ = nn.Parameter(torch.tensor(np.diff(edges) - min_band_hz, dtype=torch.float32).clamp(min=1.0))
        t = (torch.arange(kernel, dtype=torch.float32) - kernel // 2) / sample_rate
        self.register_buffer("t", t)  # (K,) seconds around the centre
        self.register_buffer("window", torch.hamming_window(kernel, periodic=False))
        # The energy envelope is smoothed by a Hann window and taken once per hop.
        rate = sample_rate / conv_stride
        self.hop = max(1, int(round(rate * hop_ms / 1000)))
        smooth = torch.hann_window(max(3, int(round(rate * window_ms / 1000))) | 1, periodic=False)
        self.register_buffer("smooth", (smooth / smooth.sum())[None, None, :])

    @property
    def samples_per_frame(self) -> int:
        return self.hop * self.conv_stride

    def cutoffs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Current low and high cut-off frequencies in Hz, each (n_filters,)."""
        low = self.min_hz + self.low_hz_.abs()
        high = (low + self.min_band_hz + self.band_hz_.abs()).clamp(max=self.sample_rate / 2)
        return low, high

    def filters(self) -> torch.Tensor:
        """The band-pass impulse responses, (n_filters, 1, K): difference of two windowed sincs."""
        low, high = self.cutoffs()

        def lowpass(f):  # (F, 1) -> (F, K): impulse response of an ideal low-pass at f Hz
            return 2 * f * torch.special.sinc(2 * f * self.t[None, :])

        band = (lowpass(high[:, None]) - lowpass(low[:, None])) * self.window[None, :]  # (F, K)
        return (band / self.sample_rate)[:, None, :]  # unit gain in the pass band

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        waveform = _unit_rms(waveform, lengths)
        filters = self.filters()
        pad = filters.shape[-1] // 2
        x = F.conv1d(waveform[:, None, :], filters, stride=self.conv_stride, padding=pad)  # (B, F, N / s)
        energy = smooth_and_decimate(x.pow(2), self.smooth.flatten(), self.hop)  # (B, F, T)
        frames = _frames(torch.div(lengths + self.conv_stride - 1, self.conv_stride, rounding_mode="floor"), self.hop)
        frames = frames.clamp(max=energy.shape[-1])
        return _normalise(_log_energies(energy, frames, self.floor_db), frames), frames


def mel_matrix(sample_rate: int, n_fft: int, n_mels: int, min_hz: float = 50.0) -> np.ndarray:
    """Triangular mel filters, (n_mels, n_fft // 2 + 1), each of unit area."""
    bins = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    points = mel_to_hz(np.linspace(hz_to_mel(min_hz), hz_to_mel(sample_rate / 2), n_mels + 2))
    out = np.zeros((n_mels, bins.size))
    for m in range(n_mels):
        lo, mid, hi = points[m : m + 3]
        rise = (bins - lo) / (mid - lo)
        fall = (hi - bins) / (hi - mid)
        out[m] = np.clip(np.minimum(rise, fall), 0, None)
        out[m] /= max(out[m].sum(), 1e-9)
    return out.astype(np.float32)


class LogMelFrontend(nn.Module):
    """Fixed log-mel filterbank (the hand-made ablation): same input and output as SincFilterbank."""

    def __init__(self, sample_rate: int = 8000, n_filters: int = 40, window_ms: float = 25.0, hop_ms: float = 10.0,
                 floor_db: float | None = None):
        super().__init__()
        self.floor_db = floor_db
        self.win = int(round(sample_rate * window_ms / 1000))
        self.hop = int(round(sample_rate * hop_ms / 1000))
        self.n_fft = 1 << (self.win - 1).bit_length()
        self.register_buffer("mel", torch.from_numpy(mel_matrix(sample_rate, self.n_fft, n_filters)))
        self.register_buffer("window", torch.hann_window(self.win))

    @property
    def samples_per_frame(self) -> int:
        return self.hop

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spec = torch.stft(_unit_rms(waveform, lengths), self.n_fft, hop_length=self.hop, win_length=self.win, window=self.window,
                          center=True, return_complex=True)  # (B, n_fft/2+1, T)
        power = spec.real.pow(2) + spec.imag.pow(2)
        energy = torch.matmul(self.mel, power) / self.n_fft  # (B, F, T)
        frames = _frames(lengths, self.hop).clamp(max=energy.shape[-1])
        return _normalise(_log_energies(energy, frames, self.floor_db), frames), frames


def make_frontend(name: str, sample_rate: int, n_filters: int, floor_db: float | None = None) -> nn.Module:
    """The front-end called `name`: "sinc" (learned, default) or "logmel" (fixed ablation)."""
    if name == "sinc":
        return SincFilterbank(sample_rate, n_filters, floor_db=floor_db)
    if name == "logmel":
        return LogMelFrontend(sample_rate, n_filters, floor_db=floor_db)
    raise ValueError(f"frontend must be 'sinc' or 'logmel', not {name!r}")
