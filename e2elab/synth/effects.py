"""Waveform effects that make synthetic speech sound recorded: a microphone, a room, background noise.

espeak-ng's output is dry, noiseless and spectrally the same from one utterance to the next;
real recordings are coloured by a microphone, smeared by a room and sit on some noise. A network
pretrained on the clean output learns cues that real clips do not have, so every synthetic clip
passes through `roughen`: a random equaliser, a room of random size (its reverberation time
drawn per clip; some clips stay dry, as close-talking recordings are), coloured noise at a random
signal-to-noise ratio and a random level. Each effect draws from the generator it is given, so a
seeded generator gives the same result.
"""

from __future__ import annotations

import numpy as np

# Room reverberation time (RT60, seconds) drawn per clip: a small office to a large hall.
RT60_RANGE = (0.15, 0.9)
# Share of clips that get a room at all: the others stay dry.
REVERB_PROBABILITY = 0.6
# Signal-to-noise ratios (dB) of the added noise, from a noisy street to a quiet room.
SNR_RANGE_DB = (5.0, 40.0)
# Largest gain (dB) of the random equaliser: a cheap headset to a studio microphone.
EQ_DB = 10.0


def random_equaliser(wave: np.ndarray, rng: np.random.Generator, max_db: float, knots: int = 6) -> np.ndarray:
    """Multiply the spectrum by a smooth random gain curve of at most +- `max_db` dB."""
    spectrum = np.fft.rfft(wave)
    gains_db = rng.uniform(-max_db, max_db, size=knots)
    curve = np.interp(np.linspace(0, knots - 1, spectrum.size), np.arange(knots), gains_db)
    return np.fft.irfft(spectrum * 10 ** (curve / 20), n=len(wave)).astype(np.float32)


def coloured_noise(rng: np.random.Generator, n: int, slope: float, sample_rate: int) -> np.ndarray:
    """Gaussian noise whose power falls as 1 / f**slope: white (0), pink (1), towards brown (2)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    frequency = np.maximum(np.fft.rfftfreq(n, 1.0 / sample_rate), 20.0)
    return np.fft.irfft(spectrum * frequency ** (-slope / 2), n).astype(np.float32)


def room_impulse_response(rng: np.random.Generator, rt60: float, sample_rate: int) -> np.ndarray:
    """A statistical room: the direct sound, then noise whose level falls 60 dB in `rt60` seconds.

    Real rooms' late reverberation is close to exponentially decaying noise (Schroeder's model);
    the high frequencies die faster, which the running mean over the noise imitates.
    """
    n = max(2, int(rt60 * sample_rate))
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * 10 ** (-3.0 * t / rt60)  # -60 dB at rt60
    tail = np.convolve(tail, np.ones(3) / 3, mode="same")
    pre_delay = int(rng.uniform(0.002, 0.02) * sample_rate)  # the first reflection comes after the direct path
    tail[:pre_delay] = 0.0
    response = tail * rng.uniform(0.2, 0.6) / (np.sqrt(np.sum(tail**2)) + 1e-12)  # reverberant share of the energy
    response[0] = 1.0
    return response.astype(np.float32)


def add_reverb(wave: np.ndarray, rng: np.random.Generator, sample_rate: int, rt60: float) -> np.ndarray:
    """`wave` played in a room of reverberation time `rt60`: the full convolution, the room's tail included."""
    from scipy.signal import fftconvolve

    wet = fftconvolve(wave, room_impulse_response(rng, rt60, sample_rate))
    return wet.astype(np.float32)


def add_noise_at(wave: np.ndarray, noise: np.ndarray, snr_db: float, speech: slice = slice(None)) -> np.ndarray:
    """`wave` plus `noise` scaled to `snr_db` below the power of `wave[speech]`."""
    speech_rms = float(np.sqrt(np.mean(wave[speech].astype(np.float64) ** 2))) + 1e-9
    noise = noise * (speech_rms / (float(np.sqrt(np.mean(noise.astype(np.float64) ** 2))) + 1e-12) * 10 ** (-snr_db / 20))
    return (wave + noise).astype(np.float32)


def roughen(wave: np.ndarray, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """A dry synthetic clip made to sound recorded: silence around it, a microphone, maybe a room,
    noise and a random peak level (see the module docstring). Returns float32 in [-1, 1]."""
    lead, tail = (int(rng.uniform(0.05, 0.4) * sample_rate) for _ in range(2))
    wave = np.concatenate([np.zeros(lead, np.float32), np.asarray(wave, np.float32), np.zeros(tail, np.float32)])
    speech = slice(lead, len(wave) - tail)
    wave = random_equaliser(wave, rng, EQ_DB)
    if rng.random() < REVERB_PROBABILITY:
        wave = add_reverb(wave, rng, sample_rate, rng.uniform(*RT60_RANGE))[: len(wave)]
    noise = coloured_noise(rng, len(wave), rng.uniform(0.0, 2.0), sample_rate)
    wave = add_noise_at(wave, noise, rng.uniform(*SNR_RANGE_DB), speech)
    return (wave * (rng.uniform(0.2, 0.95) / (float(np.max(np.abs(wave))) + 1e-12))).astype(np.float32)
