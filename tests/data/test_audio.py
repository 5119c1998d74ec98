"""Raw audio loading on every format the loader promises, and on the bad files it must refuse."""

import numpy as np
import pytest
import soundfile as sf

from e2elab.data.audio import as_waveform, audio_duration, load_audio, prepare_waveform
from e2elab.errors import AudioError


def sine(seconds=0.5, rate=16000, freq=440.0, amplitude=0.5):
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("suffix, subtype", [(".wav", "PCM_16"), (".wav", "FLOAT"), (".flac", "PCM_16"), (".ogg", "VORBIS")])
def test_formats_load_as_mono_float32(tmp_path, suffix, subtype):
    path = tmp_path / f"clip{suffix}"
    sf.write(path, sine(), 16000, subtype=subtype)
    wave = load_audio(path)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert abs(len(wave) - 8000) <= 64  # Vorbis may pad a few samples
    assert 0.4 < np.max(np.abs(wave)) <= 1.0


def test_stereo_is_mixed_to_mono(tmp_path):
    left = sine(amplitude=0.6)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)  # (N, 2)
    sf.write(tmp_path / "s.wav", stereo, 16000, subtype="FLOAT")
    wave = load_audio(tmp_path / "s.wav")
    np.testing.assert_allclose(wave, left / 2, atol=1e-6)


def test_other_rates_are_resampled(tmp_path):
    sf.write(tmp_path / "8k.wav", sine(rate=8000), 8000)
    sf.write(tmp_path / "44k.flac", sine(rate=44100), 44100)
    assert len(load_audio(tmp_path / "8k.wav")) == 8000
    assert len(load_audio(tmp_path / "44k.flac")) == 8000
    assert len(load_audio(tmp_path / "8k.wav", sample_rate=None)) == 4000


def test_resampling_keeps_the_pitch(tmp_path):
    sf.write(tmp_path / "8k.wav", sine(rate=8000, freq=1000), 8000)
    wave = load_audio(tmp_path / "8k.wav")
    spectrum = np.abs(np.fft.rfft(wave))
    assert abs(np.argmax(spectrum) * 16000 / len(wave) - 1000) < 5


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "t.wav"
    sf.write(path, sine(), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match="truncated") as err:
        load_audio(path)
    assert err.value.source == str(path)


def test_zero_length_clip_and_zero_byte_file(tmp_path):
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match="empty"):
        load_audio(tmp_path / "empty.wav")
    (tmp_path / "zero.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="zero bytes"):
        load_audio(tmp_path / "zero.wav")


def test_silent_clip_is_refused(tmp_path):
    sf.write(tmp_path / "quiet.wav", np.zeros(1600, np.float32), 16000)
    with pytest.raises(AudioError, match="silent"):
        load_audio(tmp_path / "quiet.wav")


def test_nan_samples_are_refused(tmp_path):
    wave = sine()
    wave[100] = np.nan
    sf.write(tmp_path / "nan.wav", wave, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        load_audio(tmp_path / "nan.wav")


def test_unsupported_or_fake_files_are_refused(tmp_path):
    (tmp_path / "fake.wav").write_bytes(b"this is not audio at all" * 10)
    (tmp_path / "clip.xyz").write_bytes(b"\x00\x01" * 100)
    for name, reason in (("fake.wav", "not audio: the file looks like a text file"), ("clip.xyz", "cannot read audio")):
        with pytest.raises(AudioError, match=reason) as err:
            load_audio(tmp_path / name)
        assert name in str(err.value)
    with pytest.raises(AudioError, match="no such file"):
        load_audio(tmp_path / "missing.wav")


def test_max_seconds(tmp_path):
    sf.write(tmp_path / "long.wav", sine(seconds=2.0), 16000)
    with pytest.raises(AudioError, match="over the limit of 1 s"):
        load_audio(tmp_path / "long.wav", max_seconds=1.0)
    assert audio_duration(tmp_path / "long.wav") == pytest.approx(2.0)


def test_loud_float_clip_is_scaled_down(tmp_path):
    sf.write(tmp_path / "loud.wav", sine(amplitude=4.0), 16000, subtype="FLOAT")
    assert np.max(np.abs(load_audio(tmp_path / "loud.wav"))) == pytest.approx(1.0)


def test_arrays_and_pairs():
    ints = (sine() * 32767).astype(np.int16)
    wave = prepare_waveform(ints, 16000)
    assert wave.dtype == np.float32 and np.max(np.abs(wave)) == pytest.approx(0.5, abs=1e-3)
    channels_first = np.stack([sine(), sine()])  # (2, N)
    assert prepare_waveform(channels_first, 16000).shape == (8000,)
    assert as_waveform((sine(rate=8000), 8000)).shape == (8000,)
    assert as_waveform(sine()).shape == (8000,)
    with pytest.raises(AudioError, match="1-D or 2-D"):
        prepare_waveform(np.zeros((2, 2, 2)), 16000)
    with pytest.raises(AudioError, match="infinite"):
        prepare_waveform(np.array([0.1, np.inf], np.float32), 16000)


def test_audio_duration_of_a_bad_file(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"nope")
    with pytest.raises(AudioError, match="header"):
        audio_duration(tmp_path / "bad.wav")


def test_truncated_flac_is_refused(tmp_path):
    path = tmp_path / "t.flac"
    sf.write(path, sine(seconds=1.0), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match="truncated|cannot read audio"):
        load_audio(path)


def wav_bytes(rate: int, channels: int, frames: int = 1600) -> bytes:
    """A 16-bit PCM WAV written by hand, so that its header can say what no encoder would write."""
    import struct

    rng = np.random.default_rng(0)
    data = rng.integers(-8000, 8000, frames * channels, dtype=np.int16).tobytes()
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    return (b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", len(data)) + data)


@pytest.mark.parametrize("rate, channels, reason", [(1, 1, "sample rate 1 Hz"), (10_000_000, 1, "sample rate 10000000 Hz"),
                                                    (16000, 300, "300 channels")])
def test_absurd_headers_are_refused(tmp_path, rate, channels, reason):
    path = tmp_path / "odd.wav"
    path.write_bytes(wav_bytes(rate, channels, frames=100))
    with pytest.raises(AudioError, match=reason) as err:
        load_audio(path)
    assert err.value.source == str(path)
    path.write_bytes(wav_bytes(16000, 2))
    assert load_audio(path).shape == (1600,)  # the same writer with sane values loads


def test_absurd_rates_and_channels_in_arrays():
    with pytest.raises(AudioError, match="sample rate 1 Hz"):
        as_waveform((sine(), 1))
    with pytest.raises(AudioError, match="100 channels"):
        prepare_waveform(np.ones((50, 100), np.float32) * 0.1, 16000)
    with pytest.raises(AudioError, match="integers or floats"):
        prepare_waveform(np.array([0.1 + 0.2j, 0.3]), 16000)


def test_an_image_named_wav_is_named_as_an_image(tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "photo.jpg")
    (tmp_path / "photo.jpg").rename(tmp_path / "clip.wav")
    with pytest.raises(AudioError, match="not audio: the file looks like a JPEG image"):
        load_audio(tmp_path / "clip.wav")


def test_a_flac_named_wav_still_loads(tmp_path):
    sf.write(tmp_path / "c.flac", sine(), 16000)
    (tmp_path / "c.flac").rename(tmp_path / "c.wav")
    assert load_audio(tmp_path / "c.wav").shape == (8000,)


def test_long_clip_is_refused_from_its_header_before_decoding(tmp_path, monkeypatch):
    sf.write(tmp_path / "long.wav", sine(seconds=3.0), 16000)
    monkeypatch.setattr("e2elab.data.audio._read_blocks", lambda *a: pytest.fail("decoded a clip its header refuses"))
    with pytest.raises(AudioError, match="3.0 s long, over the limit of 2 s"):
        load_audio(tmp_path / "long.wav", max_seconds=2.0)


def test_reading_stops_at_the_limit_when_the_header_cannot_tell(tmp_path):
    import soundfile

    from e2elab.data.audio import _read_blocks

    sf.write(tmp_path / "c.wav", sine(seconds=2.0), 16000)
    with soundfile.SoundFile(tmp_path / "c.wav") as sound:
        assert _read_blocks(sound, limit=16000).shape == (16001, 1)  # one frame past the limit, no more


def test_resampled_full_scale_clip_stays_in_range():
    square = np.where(sine(rate=44100) > 0, 1.0, -1.0).astype(np.float32)
    wave = as_waveform((square, 44100))
    assert wave.dtype == np.float32 and np.max(np.abs(wave)) <= 1.0
