"""Raw audio: any clip soundfile reads, as mono float32 in [-1, 1] at the rate a pipeline asks for."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import AudioError
from .sniff import other_format

DEFAULT_SAMPLE_RATE = 16_000
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au")
# A clip whose peak stays below this (about -100 dBFS) carries no speech.
SILENCE_PEAK = 1e-5
# Rates outside these bounds are header damage or a disguised file, not audio: below 2 kHz no
# speech band survives; 768 kHz is the highest rate audio interfaces record at.
MIN_SAMPLE_RATE = 2_000
MAX_SAMPLE_RATE = 768_000
# Microphone arrays and ambisonics stay within this; 300 channels means a damaged header.
MAX_CHANNELS = 64
# libsndfile's frame count for a stream whose length it cannot tell (SF_COUNT_MAX).
UNKNOWN_FRAMES = 2**62
BLOCK_FRAMES = 1 << 18


def load_audio(path: str | Path, sample_rate: int | None = DEFAULT_SAMPLE_RATE, max_seconds: float | None = None) -> np.ndarray:
    """Read `path`, mix to mono, resample to `sample_rate` (None keeps the file's rate).

    Raises AudioError naming the file for an unreadable, truncated, unsupported, empty,
    silent or non-finite clip, for a header with an absurd rate or channel count, for a file
    that holds something else (an image named .wav), or for a clip longer than `max_seconds`.
    The length limit is checked against the header before decoding, and decoding never reads
    past it, so a header that lies about (or does not know) its length cannot run memory out.
    """
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise AudioError(path, "no such file")
    if path.stat().st_size == 0:
        raise AudioError(path, "file is empty (zero bytes)")
    try:
        with sf.SoundFile(str(path)) as sound:
            _check_header(path, sound.samplerate, sound.channels)
            rate, frames = sound.samplerate, sound.frames
            known = 0 <= frames < UNKNOWN_FRAMES
            limit = None if max_seconds is None else int(max_seconds * rate)
            if known and limit is not None and frames > limit:
                raise AudioError(path, f"clip is {frames / rate:.1f} s long, over the limit of {max_seconds:g} s")
            samples = _read_blocks(sound, limit)
    except AudioError:
        raise
    except sf.LibsndfileError as err:
        other = other_format(path, "audio")
        reason = f"not audio: the file looks like {other}" if other else f"cannot read audio ({err.error_string}); is it a wav/flac/ogg file?"
        raise AudioError(path, reason) from None
    except (RuntimeError, TypeError, ValueError, MemoryError) as err:
        raise AudioError(path, f"cannot read audio: {err}") from None
    if limit is not None and samples.shape[0] > limit:
        raise AudioError(path, f"clip is over the limit of {max_seconds:g} s (its header does not give its length)")
    if known and samples.shape[0] < frames:
        raise AudioError(path, f"file is truncated: header says {frames} frames, {samples.shape[0]} could be read")
    _check_riff_complete(path)
    return prepare_waveform(samples, rate, sample_rate, source=path)


def _read_blocks(sound, limit: int | None) -> np.ndarray:
    """The clip's frames as float32 (frames, channels), at most `limit` + 1 of them.

    Read block by block, so that no allocation is sized by what the header claims.
    """
    blocks, total = [], 0
    while limit is None or total <= limit:
        block = sound.read(frames=BLOCK_FRAMES if limit is None else min(BLOCK_FRAMES, limit + 1 - total),
                           dtype="float32", always_2d=True)
        if not len(block):
            break
        blocks.append(block)
        total += len(block)
    return np.concatenate(blocks) if blocks else np.zeros((0, sound.channels), np.float32)


def _check_header(source, rate, channels: int) -> None:
    """Refuse a sample rate or channel count no real recording has (see the bounds above)."""
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(source, f"sample rate {rate} Hz is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz (damaged header?)")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(source, f"{channels} channels is outside 1-{MAX_CHANNELS} (damaged header?)")


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
    """Check a decoded clip, mix it to mono, resample it; `source` is named in errors.

    Returns finite float32 samples in [-1, 1]; anything else (no samples, silence, NaN, complex
    or non-numeric values, an absurd rate or channel count) raises AudioError.
    """
    samples = np.asarray(samples)
    if not (np.issubdtype(samples.dtype, np.integer) or np.issubdtype(samples.dtype, np.floating)):
        raise AudioError(source, f"samples must be integers or floats, not {samples.dtype}")
    if samples.ndim == 2:
        # Channels last, as soundfile returns them; a (C, N) array with few rows is transposed.
        if samples.shape[0] <= 8 < samples.shape[1]:
            samples = samples.T
        channels = samples.shape[1]
    elif samples.ndim == 1:
        channels = 1
    else:
        raise AudioError(source, f"expected a 1-D or 2-D waveform, got shape {samples.shape}")
    if samples.size == 0:
        raise AudioError(source, "clip is empty (zero samples)")
    _check_header(source, rate, channels)
    if np.issubdtype(samples.dtype, np.integer):
        samples = samples / float(np.iinfo(samples.dtype).max)
    elif not np.all(np.isfinite(samples)):
        raise AudioError(source, "clip contains NaN or infinite samples")
    # Scaled before the channels are mixed and before the cast to float32, so that values near
    # the top of float64's range neither overflow in the sum nor become inf.
    peak = float(np.max(np.abs(samples)))
    if peak > 1.0:
        samples = samples / peak
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise AudioError(source, "clip is silent (peak below -100 dBFS)")
    samples = samples.astype(np.float32, copy=False)
    if sample_rate is not None and rate != sample_rate:
        import soxr

        # Band-limiting a full-scale clip overshoots a little: clip back into [-1, 1].
        samples = np.clip(soxr.resample(samples, rate, sample_rate, quality="HQ"), -1.0, 1.0).astype(np.float32)
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
    _check_header(path, info.samplerate, info.channels)
    return info.frames / info.samplerate
