"""MFCC features with deltas and cepstral mean/variance normalisation, in NumPy/SciPy.

The hand-crafted front end of the traditional speech pipeline: pre-emphasis, 25 ms Hann frames
every 10 ms, power spectrum, mel filterbank, log (dB), DCT-II, liftering, then HTK-style delta
and delta-delta regression and CMVN per utterance or per speaker.

The MFCC follows ``librosa.feature.mfcc`` (Slaney mel scale and area normalisation, centred
zero-padded frames, periodic Hann window, ``10 log10`` power, orthonormal DCT-II, librosa's
lifter) so the two agree on the same settings; it is faster because the filterbank, window and
DCT matrices are built once and cached, frames are strided views of the signal, and the
spectrum is computed in float32.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft

AMIN = 1e-10  # floor on power before the log, as librosa's power_to_db
# The highest working rate `working_rate` picks: recognisers analyse speech at 16 kHz at most, as
# the band above 8 kHz adds computation and filterbank bands but little that tells words apart.
MAX_WORKING_RATE = 16_000
MIN_WORKING_RATE = 4_000  # the lowest rate the pipelines accept


@dataclass(frozen=True)
class MfccConfig:
    """Settings of the MFCC front end. Frame sizes are in milliseconds, so they hold at any rate."""

    sample_rate: int = 16_000
    n_mfcc: int = 13
    n_mels: int = 26
    window_ms: float = 25.0
    hop_ms: float = 10.0
    n_fft: int | None = None  # None: the next power of two at or above the window length
    fmin: float = 0.0
    fmax: float | None = None  # None: half the sample rate
    preemphasis: float = 0.97
    lifter: int = 22
    c0: str = "cepstral"  # "cepstral" keeps C0; "energy" replaces it with the frame's log energy
    htk_mel: bool = False

    @property
    def win_length(self) -> int:
        return int(round(self.sample_rate * self.window_ms / 1000.0))

    @property
    def hop_length(self) -> int:
        return int(round(self.sample_rate * self.hop_ms / 1000.0))

    @property
    def fft_size(self) -> int:
        return self.n_fft or 1 << int(np.ceil(np.log2(self.win_length)))


def _hz_to_mel(freq, htk: bool):
    freq = np.asarray(freq, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + freq / 700.0)
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    mels = freq / f_sp
    return np.where(freq >= min_log_hz, min_log_hz / f_sp + np.log(np.maximum(freq, 1e-10) / min_log_hz) / logstep, mels)


def _mel_to_hz(mels, htk: bool):
    mels = np.asarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), f_sp * mels)


@lru_cache(maxsize=32)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float, htk: bool = False) -> np.ndarray:
    """Triangular mel filters with Slaney area normalisation, (n_mels, n_fft // 2 + 1)."""
    fft_freqs = np.linspace(0.0, sample_rate / 2.0, 1 + n_fft // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(fmin, htk), _hz_to_mel(fmax, htk), n_mels + 2), htk)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]  # (n_mels + 2, F)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=32)
def _window(win_length: int, n_fft: int) -> np.ndarray:
    """Periodic Hann window of `win_length`, zero-padded (centred) to `n_fft`."""
    n = np.arange(win_length)
    win = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / win_length)
    left = (n_fft - win_length) // 2
    out = np.zeros(n_fft)
    out[left:left + win_length] = win
    out.setflags(write=False)
    return out


@lru_cache(maxsize=32)
def _dct_lifter_matrix(n_mels: int, n_mfcc: int, lifter: int) -> np.ndarray:
    """Orthonormal DCT-II rows times the lifter weights, (n_mfcc, n_mels)."""
    k = np.arange(n_mfcc)[:, None]
    n = np.arange(n_mels)[None, :]
    dct = np.cos(np.pi * k * (2 * n + 1) / (2 * n_mels)) * np.sqrt(2.0 / n_mels)
    dct[0] /= np.sqrt(2.0)
    if lifter > 0:
        dct *= (1.0 + (lifter / 2.0) * np.sin(np.pi * np.arange(1, n_mfcc + 1) / lifter))[:, None]
    dct.setflags(write=False)
    return dct


def frame_signal(signal: np.ndarray, config: MfccConfig) -> np.ndarray:
    """Pre-emphasised, centred, zero-padded frames as a strided view, (T, n_fft)."""
    signal = np.asarray(signal, dtype=np.float32)
    if config.preemphasis:
        signal = np.concatenate([signal[:1], signal[1:] - config.preemphasis * signal[:-1]])
    n_fft, hop = config.fft_size, config.hop_length
    padded = np.pad(signal, n_fft // 2)
    if padded.size < n_fft:
        padded = np.pad(padded, (0, n_fft - padded.size))
    return np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]


def _frames_to_mfcc(frames: np.ndarray, config: MfccConfig) -> np.ndarray:
    """(T, n_fft) raw frames -> (T, n_mfcc) cepstra."""
    n_fft = config.fft_size
    window = _window(config.win_length, n_fft).astype(np.float32)
    spectrum = scipy.fft.rfft(frames * window, n=n_fft, axis=-1)  # (T, F)
    power = spectrum.real ** 2 + spectrum.imag ** 2
    fmax = config.fmax if config.fmax is not None else config.sample_rate / 2.0
    mel = mel_filterbank(config.sample_rate, n_fft, config.n_mels, float(config.fmin), float(fmax), config.htk_mel)
    mel_power = power @ mel.T.astype(np.float32)  # (T, n_mels)
    log_mel = 10.0 * np.log10(np.maximum(mel_power, AMIN))
    cepstra = log_mel @ _dct_lifter_matrix(config.n_mels, config.n_mfcc, config.lifter).T.astype(np.float32)  # (T, n_mfcc)
    if config.c0 == "energy":
        energy = np.einsum("tn,tn->t", frames, frames)
        cepstra[:, 0] = 10.0 * np.log10(np.maximum(energy, AMIN))
    elif config.c0 != "cepstral":
        raise ValueError(f"c0 must be 'cepstral' or 'energy', not {config.c0!r}")
    return cepstra


def mfcc(signal: np.ndarray, config: MfccConfig | None = None) -> np.ndarray:
    """MFCC of one waveform at `config.sample_rate`, (T, n_mfcc)."""
    config = config or MfccConfig()
    return _frames_to_mfcc(frame_signal(signal, config), config)


def mfcc_batch(signals, config: MfccConfig | None = None) -> list[np.ndarray]:
    """MFCC of many waveforms, [(T_i, n_mfcc)].

    Clip by clip: stacking many clips' frames into one FFT and one filterbank product was
    measured slower, as large matrix products hand over to multi-threaded BLAS, which loses
    on a busy machine; the cached matrices already remove librosa's per-call set-up.
    """
    config = config or MfccConfig()
    return [mfcc(s, config) for s in signals]


def deltas(features: np.ndarray, width: int = 2) -> np.ndarray:
    """HTK regression deltas over +-`width` frames, edges replicated, same shape as `features` (T, D)."""
    padded = np.pad(features, ((width, width), (0, 0)), mode="edge")
    n_frames = features.shape[0]
    out = np.zeros_like(features)
    for n in range(1, width + 1):
        out += n * (padded[width + n:width + n + n_frames] - padded[width - n:width - n + n_frames])
    return out / (2.0 * sum(n * n for n in range(1, width + 1)))


def add_deltas(features: np.ndarray, order: int = 2, width: int = 2) -> np.ndarray:
    """Stack features with their deltas up to `order`, (T, D * (order + 1))."""
    parts = [features]
    for _ in range(order):
        parts.append(deltas(parts[-1], width))
    return np.concatenate(parts, axis=1)


def pooled_moments(features: Sequence[np.ndarray], keys, variance: bool = False) -> dict:
    """Per key: (mean (D,), variance (D,) or None) of the frames of the utterances sharing it.

    Streams: each utterance is read once for the means and once more for the variances, so that
    `features` may be a disk-backed sequence (feature_store.py) of any length.
    """
    sums: dict = {}
    counts: dict = {}
    for feats, key in zip(features, keys):
        sums[key] = sums.get(key, 0.0) + feats.sum(axis=0)
        counts[key] = counts.get(key, 0) + feats.shape[0]
    means = {key: sums[key] / counts[key] for key in sums}
    if not variance:
        return {key: (mean, None) for key, mean in means.items()}
    squares: dict = {}
    for feats, key in zip(features, keys):
        squares[key] = squares.get(key, 0.0) + np.square(feats - means[key]).sum(axis=0)
    return {key: (means[key], squares[key] / counts[key]) for key in means}


def cmvn_statistics(features: Sequence[np.ndarray], keys: Sequence, variance: bool = False,
                    eps: float = 1e-8) -> dict:
    """Per key: (mean, standard deviation or None) that CMVN removes, pooled over the utterances sharing it."""
    return {key: (mean, None if var is None else np.sqrt(var + eps))
            for key, (mean, var) in pooled_moments(features, keys, variance).items()}


def cmvn(features: list[np.ndarray], groups=None, variance: bool = False, eps: float = 1e-8) -> list[np.ndarray]:
    """Cepstral mean (and optionally variance) normalisation.

    Statistics are pooled over all utterances sharing a group (a speaker), or taken per
    utterance when `groups` is None: removing each speaker's mean removes most of the channel
    and vocal-tract offset that otherwise dominates across speakers.
    """
    keys = list(range(len(features))) if groups is None else list(groups)
    if len(keys) != len(features):
        raise ValueError(f"got {len(keys)} groups for {len(features)} utterances")
    statistics = cmvn_statistics(features, keys, variance, eps)
    out = []
    for feats, key in zip(features, keys):
        mean, std = statistics[key]
        normed = feats - mean
        out.append(normed / std if std is not None else normed)
    return out


def extract(signals, config: MfccConfig | None = None, delta_order: int = 2, groups=None,
            cmvn_mode: str = "utterance", cmvn_variance: bool = False) -> list[np.ndarray]:
    """Waveforms -> normalised MFCC + deltas, [(T_i, n_mfcc * (delta_order + 1))] as float64.

    `cmvn_mode` is "utterance", "speaker" (pools over `groups`; per utterance where groups is
    None) or "none".
    """
    cepstra = mfcc_batch(signals, config)
    feats = [add_deltas(c.astype(np.float64), delta_order) for c in cepstra]
    if cmvn_mode == "none":
        return feats
    if cmvn_mode not in ("utterance", "speaker"):
        raise ValueError(f"cmvn must be 'utterance', 'speaker' or 'none', not {cmvn_mode!r}")
    return cmvn(feats, groups if cmvn_mode == "speaker" else None, variance=cmvn_variance)


def working_rate(items, bare_rate: int = 16_000, sample: int = 200) -> int:
    """The rate to analyse `items` at: their most common native rate (the lower one on a tie),
    within [MIN_WORKING_RATE, MAX_WORKING_RATE].

    A path's rate is read from its header, a ``(array, rate)`` pair gives its own, and a bare array
    is at `bare_rate`. Up to `sample` items, evenly spread, are looked at. A file whose header cannot
    be read is passed over here: reading the clip reports it (or skips it) with its reason.
    """
    import soundfile as sf

    items = list(items)
    counts: dict[int, int] = {}
    for item in items[:: max(1, len(items) // sample)][:sample]:
        if isinstance(item, (str, os.PathLike)):
            try:
                rate = int(sf.info(str(item)).samplerate)
            except (RuntimeError, OSError, TypeError):  # soundfile's errors for an unreadable header
                continue
        else:
            rate = int(item[1]) if isinstance(item, tuple) and len(item) == 2 else bare_rate
        counts[rate] = counts.get(rate, 0) + 1
    if not counts:
        return MAX_WORKING_RATE
    common = max(counts, key=lambda rate: (counts[rate], -rate))
    return int(min(MAX_WORKING_RATE, max(MIN_WORKING_RATE, common)))
