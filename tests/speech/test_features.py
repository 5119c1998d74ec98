"""MFCC, deltas and CMVN: agreement with librosa on the same settings, shapes, normalisation."""

import numpy as np
import pytest

from e2elab.speech.features import MfccConfig, add_deltas, cmvn, deltas, extract, mel_filterbank, mfcc, mfcc_batch


def _tone(rate=16_000, seconds=0.5, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    return (0.4 * np.sin(2 * np.pi * 440 * t) * np.hanning(t.size) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_mfcc_matches_librosa(rate):
    librosa = pytest.importorskip("librosa")
    signal = _tone(rate)
    config = MfccConfig(sample_rate=rate)
    emphasised = np.concatenate([signal[:1], signal[1:] - 0.97 * signal[:-1]])
    power = librosa.feature.melspectrogram(y=emphasised, sr=rate, n_fft=config.fft_size, hop_length=config.hop_length,
                                           win_length=config.win_length, n_mels=config.n_mels, power=2.0)
    reference = librosa.feature.mfcc(S=librosa.power_to_db(power, top_db=None), n_mfcc=13, lifter=22).T  # (T, 13)
    ours = mfcc(signal, config)
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, atol=1e-2 * np.abs(reference).max())


def test_mel_filterbank_matches_librosa():
    librosa = pytest.importorskip("librosa")
    ours = mel_filterbank(16000, 512, 26, 0.0, 8000.0)
    np.testing.assert_allclose(ours, librosa.filters.mel(sr=16000, n_fft=512, n_mels=26), rtol=1e-4, atol=1e-7)


def test_batch_equals_single():
    signals = [_tone(seconds=s, seed=i) for i, s in enumerate([0.2, 0.5, 0.31])]
    batched = mfcc_batch(signals)
    for signal, feats in zip(signals, batched):
        np.testing.assert_allclose(feats, mfcc(signal), rtol=1e-4, atol=1e-3)


def test_frames_and_energy_option():
    config = MfccConfig(c0="energy")
    feats = mfcc(_tone(seconds=1.0), config)
    assert feats.shape == (1 + 16000 // 160, 13)
    loud = mfcc(_tone(seconds=1.0) * 4, config)
    assert np.allclose(loud[:, 0] - feats[:, 0], 20 * np.log10(4), atol=1e-2)  # energy in dB
    assert np.allclose(loud[:, 1:], feats[:, 1:], atol=1e-2)  # a gain is a constant log-mel offset, which only C0 sees


def test_deltas_of_a_ramp_are_its_slope():
    ramp = np.arange(20, dtype=float)[:, None] * np.array([[1.0, -2.0]])
    d = deltas(ramp)
    np.testing.assert_allclose(d[2:-2], np.broadcast_to([1.0, -2.0], (16, 2)))
    assert add_deltas(ramp).shape == (20, 6)


def test_cmvn_per_speaker_pools_utterances():
    rng = np.random.default_rng(0)
    feats = [rng.normal(5, 2, size=(30, 3)), rng.normal(5, 2, size=(10, 3)), rng.normal(-1, 1, size=(20, 3))]
    out = cmvn(feats, groups=["a", "a", "b"], variance=True)
    pooled = np.concatenate(out[:2])
    np.testing.assert_allclose(pooled.mean(0), 0, atol=1e-9)
    np.testing.assert_allclose(pooled.std(0), 1, atol=1e-6)
    assert abs(out[1].mean()) > 0  # one utterance alone is not centred: the speaker is
    per_utt = cmvn(feats)
    for f in per_utt:
        np.testing.assert_allclose(f.mean(0), 0, atol=1e-9)


def test_extract_shapes_and_bad_mode():
    feats = extract([_tone(), _tone(seconds=0.3)], groups=["s", "s"], cmvn_mode="speaker")
    assert [f.shape[1] for f in feats] == [39, 39]
    with pytest.raises(ValueError, match="cmvn"):
        extract([_tone()], cmvn_mode="global")
