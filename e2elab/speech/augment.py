"""Data augmentation for small speech corpora, as one immutable policy: `SpeechAugmentation`.

On the waveform (NumPy, one clip at a time, from a seeded generator):

* speed perturbation: resample by a factor in [1 - speed, 1 + speed] (pitch and tempo change
  together, as Kaldi's 3-way speed perturbation does);
* random equaliser: a smooth random gain curve (+- `eq_db`) over frequency, a stand-in for a
  different microphone or room colouring;
* additive noise: white or brown (1/f^2) noise at an SNR drawn from [snr_db, snr_db + 30];
* gain: a random level change of +- `gain_db`.

On the learned representation (PyTorch, while training): SpecAugment-style masks of random
frame spans and of random bands of the front-end output.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ..params import Int, Real, validate_constraints
from ..synth.effects import random_equaliser

# Chance that each enabled waveform change is applied to a clip: some clips stay as recorded.
APPLY_PROBABILITY = 0.8


@dataclass(frozen=True)
class SpeechAugmentation:
    """What the end-to-end recogniser changes in its training clips; 0 or None switches a kind off.

    An immutable value, passed as ``EndToEndSpeechRecognizer(augment=...)``: derive another with
    ``dataclasses.replace(SpeechAugmentation(), noise_snr_db=20.0)``.

    Parameters
    ----------
    speed : float, default=0.1
        Speed perturbation: clips play up to this fraction faster or slower.
    eq_db : float or None, default=8.0
        Largest gain, in dB, of the random equaliser (another microphone or room).
    noise_snr_db : float or None, default=10.0
        Lowest signal-to-noise ratio of the added white or brown noise (drawn up to 30 dB above).
    gain_db : float or None, default=10.0
        Largest random level change, in dB.
    time_masks, freq_masks : int, default=2
        Frame spans and band ranges of the front-end output zeroed in each training clip.
    """

    speed: float = 0.1
    eq_db: float | None = 8.0
    noise_snr_db: float | None = 10.0
    gain_db: float | None = 10.0
    time_masks: int = 2
    freq_masks: int = 2

    _constraints: ClassVar[dict] = {"speed": [Real(0, 1, closed="left")], "eq_db": [Real(0), None], "noise_snr_db": [Real(), None],
                    "gain_db": [Real(0), None], "time_masks": [Int(0)], "freq_masks": [Int(0)]}

    def __post_init__(self):
        validate_constraints(self._constraints, self.to_dict(), type(self).__name__)

    @classmethod
    def of(cls, augment: bool | SpeechAugmentation | None) -> SpeechAugmentation | None:
        """The policy a pipeline's `augment` parameter stands for: True the default, None or False none."""
        if augment is True:
            return cls()
        return augment or None

    def to_dict(self) -> dict:
        """The fields as plain JSON values (how e2elab.json stores the policy)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, fields: dict) -> SpeechAugmentation:
        return cls(**fields)

    def __call__(self, wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """`wave` with the waveform changes applied, each with probability APPLY_PROBABILITY."""
        wave = np.asarray(wave, dtype=np.float32)
        if self.speed and rng.random() < APPLY_PROBABILITY:
            wave = change_speed(wave, rng.uniform(1 - self.speed, 1 + self.speed))
        if self.eq_db and rng.random() < APPLY_PROBABILITY:
            wave = random_equaliser(wave, rng, self.eq_db)
        if self.noise_snr_db is not None and rng.random() < APPLY_PROBABILITY:
            wave = add_noise(wave, rng, rng.uniform(self.noise_snr_db, self.noise_snr_db + 30.0))
        if self.gain_db and rng.random() < APPLY_PROBABILITY:
            wave = wave * np.float32(10 ** (rng.uniform(-self.gain_db, self.gain_db) / 20))
        return wave.astype(np.float32, copy=False)


def change_speed(wave: np.ndarray, factor: float) -> np.ndarray:
    """Play `wave` `factor` times faster (linear interpolation; length divided by factor)."""
    n = max(2, int(round(len(wave) / factor)))
    positions = np.arange(n) * factor
    return np.interp(positions, np.arange(len(wave)), wave).astype(np.float32)


def add_noise(wave: np.ndarray, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """Add white or brown noise at `snr_db` below the clip's power."""
    noise = rng.standard_normal(len(wave))
    if rng.random() < 0.5:  # brown noise: integrated white noise, with its drift removed
        noise = np.cumsum(noise)
        noise -= np.convolve(noise, np.ones(401) / 401, mode="same")
    power = float(np.mean(wave.astype(np.float64) ** 2)) + 1e-12
    noise *= np.sqrt(power / (10 ** (snr_db / 10)) / (np.mean(noise**2) + 1e-12))
    return (wave + noise).astype(np.float32)


def spec_mask(feats: torch.Tensor, frames: torch.Tensor, time_masks: int, max_frames: int,
              freq_masks: int, max_bands: int) -> torch.Tensor:
    """Zero random frame spans and band ranges of each clip's features. feats: (B, F, T).

    The features are normalised over the clip (zero mean), so zero is the clip's average level.
    """
    if not (time_masks or freq_masks):
        return feats
    B, nf, T = feats.shape
    keep = torch.ones_like(feats)
    for b in range(B):
        length = int(frames[b])
        for _ in range(time_masks):
            width = int(torch.randint(0, min(max_frames, max(1, length // 5)) + 1, ()))
            start = int(torch.randint(0, max(1, length - width + 1), ()))
            keep[b, :, start : start + width] = 0
        for _ in range(freq_masks):
            width = int(torch.randint(0, max_bands + 1, ()))
            start = int(torch.randint(0, max(1, nf - width + 1), ()))
            keep[b, start : start + width, :] = 0
    return feats * keep
