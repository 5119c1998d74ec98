"""Raw audio: any clip soundfile reads, as mono float32 in [-1, 1] at the rate a pipeline asks for."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import AudioError

DEFAULT_SAMPLE_RATE = 16_000
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au")
# A clip whose peak stays below this (about -100 dBFS) carries no speech.
SILENCE_PEAK = 1e-5


def load_audio(path: str | Path, sample_rate: int | None = DEFAULT_SAMPLE_RATE, max_seconds: float | None = None) -> np.ndarray:
    """Read `path`, mix to mono, resample to `sample_rate` (None keeps the file's rate).

    Raises AudioError naming the file for an unreadable, truncated, unsupported, empty,
    silent or non-finite clip, or one longer than `max_seconds`.
    """
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise AudioError(path, "no such file")
    try:
        info = sf.info(str(path))
        if max_seconds is not None and info.frames > max_seconds * info.samplerate:
            raise AudioError(path, f"clip is {info.frames / info.samplerate:.1f} s long, over the limit of {max_seconds:g} s")
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except AudioError:
        raise
    except sf.LibsndfileError as err:
        raise AudioError(path, f"cannot read audio ({err.error_string}); is it a wav/flac/ogg file?") from None
    except (RuntimeError, TypeError, ValueError) as err:
        raise AudioError(path, f"cannot read audio: {err}") from None
    if info.frames > 0 and samples.shape[0] < info.frames:
        raise AudioError(path, f"file is truncated: header says {info.frames} frames, {samples.shape[0]} could be read")
    _check_riff_complete(path)
    return prepare_waveform(samples, rate, sample_rate, source=path)


def _check_riff_complete(path: Path) -> None:
    """Refuse a RIFF/WAVE file whose data chunk is shorter than its header says.

    libsndfile quietly shortens the frame count of a cut-off WAV, so the check above cannot
    see it; the declared size of the ``data`` chunk still tells.
    """
    import struct

    size = path.stat().st_size
    with open(path, "rb") as handle:
        if handle.read(4) != b"RIFF" or not handle.read(4) or handle.read(4) != b"WAVE":
            return
        while True:
            header = handle.read(8)
            if len(header) < 8:
                return
            chunk, length = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk == b"data":
                available = size - handle.tell()
                # 0 and 0xFFFFFFFF mark streamed files whose writer never filled in the size.
                if length not in (0, 0xFFFFFFFF) and available < length:
                    raise AudioError(path, f"file is truncated: data chunk declares {length} bytes, {available} are present")
                return
            handle.seek(length + (length & 1), 1)


def prepare_waveform(samples: np.ndarray, rate: int, sample_rate: int | None = DEFAULT_SAMPLE_RATE, source=None) -> np.ndarray:
    """Check a decoded clip, mix it to mono, resample it; `source` is named in errors."""
    samples = np.asarray(samples)
    if samples.ndim == 2:
        # Channels last, as soundfile returns them; a (C, N) array with few rows is transposed.
        if samples.shape[0] <= 8 < samples.shape[1]:
            samples = samples.T
        samples = samples.mean(axis=1)
    elif samples.ndim != 1:
        raise AudioError(source, f"expected a 1-D or 2-D waveform, got shape {samples.shape}")
    if np.issubdtype(samples.dtype, np.integer):
        samples = samples / float(np.iinfo(samples.dtype).max)
    samples = samples.astype(np.float32, copy=False)
    if samples.size == 0:
        raise AudioError(source, "clip is empty (zero samples)")
    if not np.all(np.isfinite(samples)):
        raise AudioError(source, "clip contains NaN or infinite samples")
    peak = float(np.max(np.abs(samples)))
    if peak < SILENCE_PEAK:
        raise AudioError(source, "clip is silent (peak below -100 dBFS)")
    if peak > 1.0:
        samples = samples / peak
    if sample_rate is not None and rate != sample_rate:
        import soxr

        samples = soxr.resample(samples, rate, sample_rate, quality="HQ").astype(np.float32)
    return samples


def as_waveform(item, sample_rate: int = DEFAULT_SAMPLE_RATE, max_seconds: float | None = None) -> np.ndarray:
    """One raw speech item as a waveform: a path is loaded; an array is taken to be at `sample_rate`;
    a ``(array, rate)`` pair is resampled."""
    if isinstance(item, (str, Path)):
        return load_audio(item, sample_rate, max_seconds=max_seconds)
    if isinstance(item, tuple) and len(item) == 2:
        return prepare_waveform(item[0], int(item[1]), sample_rate)
    return prepare_waveform(item, sample_rate, sample_rate)


def audio_duration(path: str | Path) -> float:
    """Duration in seconds from the file header, without decoding."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception as err:  # soundfile raises several types for bad files
        raise AudioError(path, f"cannot read audio header: {err}") from None
    return info.frames / info.samplerate
