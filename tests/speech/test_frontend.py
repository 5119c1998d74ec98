"""The learned sinc filterbank and the fixed log-mel ablation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from e2elab.speech.frontend import LogMelFrontend, SincFilterbank, make_frontend, mel_matrix, smooth_and_decimate


def tone(freq, seconds=0.5, rate=8000, amplitude=0.3):
    t = np.arange(int(seconds * rate)) / rate
    return torch.tensor(amplitude * np.sin(2 * np.pi * freq * t), dtype=torch.float32)


@pytest.mark.parametrize("n", [1, 19, 20, 21, 400, 2013])
@pytest.mark.parametrize("k, hop", [(101, 20), (51, 20), (3, 1), (7, 3), (5, 9)])
def test_smoothing_equals_a_strided_convolution(n, k, hop):
    x = torch.randn(2, 3, n, dtype=torch.float64, requires_grad=True)
    window = torch.rand(k, dtype=torch.float64)
    reference = torch.nn.functional.conv1d(x.reshape(6, 1, n), window[None, None], stride=hop,
                                           padding=k // 2).reshape(2, 3, -1)
    out = smooth_and_decimate(x, window, hop)
    assert out.shape == reference.shape
    torch.testing.assert_close(out, reference)
    upstream = torch.randn_like(out)
    (ours,) = torch.autograd.grad(out, x, upstream)
    (theirs,) = torch.autograd.grad(reference, x, upstream)
    torch.testing.assert_close(ours, theirs)


def test_sinc_filters_start_on_the_mel_scale():
    bank = SincFilterbank(sample_rate=8000, n_filters=20)
    low, high = (c.detach().numpy() for c in bank.cutoffs())
    assert np.all(np.diff(low) > 0) and np.all(high > low)
    assert low[0] == pytest.approx(50.0) and high[-1] <= 4000
    # Mel spacing: bands widen with frequency.
    assert (high - low)[-1] > 4 * (high - low)[0]


@pytest.mark.parametrize("freq", [300.0, 1000.0, 2500.0])
def test_a_tone_excites_the_band_that_contains_it(freq):
    bank = SincFilterbank(sample_rate=8000, n_filters=20)
    wave = tone(freq)[None, :]
    feats, frames = bank(wave, torch.tensor([wave.shape[1]]))
    # Compare raw band energies: undo the per-band mean normalisation by asking for the filters' response.
    filtered = torch.nn.functional.conv1d(wave[:, None, :], bank.filters(), padding=bank.filters().shape[-1] // 2)
    energy = filtered.pow(2).mean(-1)[0].detach().numpy()
    low, high = (c.detach().numpy() for c in bank.cutoffs())
    inside = np.flatnonzero((low <= freq) & (freq <= high))
    assert int(np.argmax(energy)) in inside
    assert feats.shape == (1, 20, int(frames[0]))


def test_outputs_ignore_level_and_padding():
    bank = SincFilterbank(sample_rate=8000, n_filters=16)
    rng = np.random.default_rng(0)
    wave = torch.tensor(rng.normal(scale=0.1, size=4000), dtype=torch.float32)
    quiet = bank(wave[None] * 0.05, torch.tensor([4000]))[0]
    loud = bank(wave[None], torch.tensor([4000]))[0]
    assert torch.allclose(quiet, loud, atol=1e-3)
    padded = torch.cat([wave, torch.zeros(1600)])[None]
    feats, frames = bank(padded, torch.tensor([4000]))
    assert int(frames[0]) == loud.shape[-1] and torch.all(feats[0, :, int(frames[0]):] == 0)
    # Only the filter tails past the clip's end differ, in the last frame.
    assert torch.allclose(feats[0, :, : int(frames[0])], loud[0], atol=1e-2)


def test_cutoffs_are_learned():
    bank = SincFilterbank(sample_rate=8000, n_filters=8)
    wave = tone(700.0)[None]
    feats, _ = bank(wave, torch.tensor([wave.shape[1]]))
    feats.pow(2).sum().backward()
    assert bank.low_hz_.grad is not None and torch.any(bank.low_hz_.grad != 0)
    assert bank.band_hz_.grad is not None and torch.any(bank.band_hz_.grad != 0)


def test_logmel_ablation_has_the_same_interface():
    fixed = make_frontend("logmel", 8000, 40)
    learned = make_frontend("sinc", 8000, 40)
    assert isinstance(fixed, LogMelFrontend) and not list(fixed.parameters())
    wave = tone(440.0, seconds=0.8)[None]
    lengths = torch.tensor([wave.shape[1]])
    a, fa = fixed(wave, lengths)
    b, fb = learned(wave, lengths)
    assert a.shape[:2] == b.shape[:2] == (1, 40)
    assert abs(int(fa[0]) - int(fb[0])) <= 1
    assert fixed.samples_per_frame == learned.samples_per_frame == 80
    with pytest.raises(ValueError, match="frontend"):
        make_frontend("mfcc", 8000, 40)


def test_mel_filters_cover_the_band():
    filters = mel_matrix(8000, 256, 40)
    assert filters.shape == (40, 129)
    assert np.allclose(filters.sum(axis=1), 1.0)
    peaks = filters.argmax(axis=1)
    assert np.all(np.diff(peaks) >= 0)


def test_normalisation_keeps_the_spectral_shape_of_a_steady_sound():
    # One steady vowel-like tone fills the clip. Normalising each band over the clip would subtract
    # the tone's own spectrum and leave next to nothing; removing only level and tilt keeps it.
    wave = tone(700.0, seconds=0.5)[None]
    lengths = torch.tensor([wave.shape[1]])
    bank = SincFilterbank(8000, 20)
    with torch.no_grad():
        feats = bank(wave, lengths)[0][0]
    low, high = (c.detach().numpy() for c in bank.cutoffs())
    band = int(np.flatnonzero((low <= 700) & (700 <= high))[0])
    middle = slice(5, -5)  # away from the edges, where the filters run off the clip
    assert feats[band, middle].mean() > feats[:, middle].mean() + 1.0
    assert abs(float(feats.mean())) < 1e-4


@pytest.mark.parametrize("name", ["sinc", "logmel"])
def test_the_front_ends_ignore_the_level(name):
    rng = np.random.default_rng(1)
    wave = torch.tensor(rng.normal(scale=0.1, size=4000), dtype=torch.float32)[None]
    bank = make_frontend(name, 8000, 16)
    lengths = torch.tensor([4000])
    assert torch.allclose(bank(wave * 0.01, lengths)[0], bank(wave, lengths)[0], atol=1e-3)


def test_tilt_normalisation_removes_level_and_slope_but_keeps_peaks():
    from e2elab.speech.frontend import _normalise

    rng = np.random.default_rng(0)
    logs = torch.tensor(rng.normal(size=(1, 20, 30)), dtype=torch.float32)
    logs[0, 7] += 3.0  # a formant-like peak in one band
    frames = torch.tensor([30])
    slope = torch.linspace(-1, 1, 20)[None, :, None] * 4.0 + 2.0  # a brighter microphone, a louder clip
    plain, tilted = _normalise(logs, frames), _normalise(logs + slope, frames)
    torch.testing.assert_close(plain, tilted, atol=1e-4, rtol=0)
    assert plain[0, 7].mean() > plain.mean() + 1.0
    # A curve is not a tilt: the spectrum's shape between its ends stays.
    bowed = _normalise(logs + torch.linspace(-1, 1, 20)[None, :, None] ** 2 * 4.0, frames)
    assert not torch.allclose(plain, bowed, atol=0.1)
