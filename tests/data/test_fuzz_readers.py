"""Bounded fuzzing of the readers: mutated copies of valid files either load or raise the e2elab error.

Mutations (bit flips, cut-offs, inserted and overwritten bytes) are drawn from a seeded NumPy
generator, so a failure reproduces; each failing input is reported with its mutation number.
"""

from __future__ import annotations

import io
import json
import signal

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from e2elab.data.audio import load_audio
from e2elab.data.image import load_image
from e2elab.data.sources import load_dataset
from e2elab.errors import AudioError, ImageError, ManifestError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the damage it tolerates

MUTATIONS_PER_SEED = 300
SECONDS_PER_INPUT = 20
# Values that make header fields extreme: zero, all ones, the sign bit.
EXTREME_BYTES = np.array([0x00, 0xFF, 0x7F, 0x80], dtype=np.uint8)


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One to four random edits of `data`."""
    buffer = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        if not buffer:
            buffer = bytearray(rng.integers(0, 256, 8, dtype=np.uint8).tobytes())
        where = int(rng.integers(0, len(buffer)))
        action = rng.integers(0, 5)
        if action == 0:
            buffer[where] ^= 1 << int(rng.integers(0, 8))
        elif action == 1:
            del buffer[where:]
        elif action == 2:
            buffer[where:where] = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
        elif action == 3:
            span = int(rng.integers(1, 5))
            buffer[where:where + span] = bytes(rng.choice(EXTREME_BYTES, span))
        else:
            # Early bytes hold the headers: hit them more often than the payload.
            head = int(rng.integers(0, min(len(buffer), 64)))
            buffer[head] = int(rng.integers(0, 256))
    return bytes(buffer)


def audio_seeds() -> dict[str, bytes]:
    t = np.arange(4000) / 16000
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    seeds = {}
    for suffix, fmt, subtype in ((".wav", "WAV", "PCM_16"), (".wav", "WAV", "FLOAT"), (".flac", "FLAC", "PCM_16"),
                                 (".ogg", "OGG", "VORBIS")):
        buffer = io.BytesIO()
        sf.write(buffer, np.stack([wave, wave[::-1]], axis=1), 16000, format=fmt, subtype=subtype)
        seeds[f"{subtype.lower()}{suffix}"] = buffer.getvalue()
    return seeds


def image_seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    seeds = {}
    for name, fmt, mode in (("rgb.png", "PNG", "RGB"), ("grey.jpg", "JPEG", "L"), ("rgb.jpg", "JPEG", "RGB"),
                            ("palette.gif", "GIF", "P"), ("rgba.webp", "WEBP", "RGBA"), ("rgb.bmp", "BMP", "RGB"),
                            ("deep.tif", "TIFF", "I;16")):
        image = Image.fromarray(pixels).convert(mode if mode != "I;16" else "L")
        if mode == "I;16":
            image = Image.fromarray(pixels[:, :, 0].astype(np.uint16) * 257)
        buffer = io.BytesIO()
        image.save(buffer, format=fmt)
        seeds[name] = buffer.getvalue()
    return seeds


def manifest_seeds() -> dict[str, bytes]:
    return {
        "m.tsv": b"path\ttext\tspeaker\nclip.wav\tyes\ts1\nclip2.wav\tno thanks\ts2\n",
        "m.csv": b"path,label,split\npic.png,cat,train\npic2.png,dog,test\n",
        "m.jsonl": (json.dumps({"audio_filepath": "clip.wav", "text": "yes", "speaker": "a"}) + "\n"
                    + json.dumps({"audio_filepath": "clip2.wav", "text": "no"}) + "\n").encode(),
        "kaldi/text": b"u1 yes\nu2 no thanks\n",
        "kaldi/wav.scp": b"u1 ../clip.wav\nu2 ../clip2.wav\n",
        "kaldi/utt2spk": b"u1 s1\nu2 s2\n",
    }


@pytest.fixture
def alarm():
    """Fail an input that runs past SECONDS_PER_INPUT: a hang is a finding too."""

    def stop(signum, frame):
        raise TimeoutError(f"no answer within {SECONDS_PER_INPUT} s")

    previous = signal.signal(signal.SIGALRM, stop)
    yield lambda: signal.alarm(SECONDS_PER_INPUT)
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def fuzz(seeds: dict[str, bytes], folder, read, expected: type, alarm, seed: int) -> list[str]:
    """Feed every mutation to `read`; the failures (anything but success or `expected`)."""
    rng = np.random.default_rng(seed)
    failures = []
    for name in seeds:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        path = folder / name
        for number in range(MUTATIONS_PER_SEED):
            for other, other_data in seeds.items():  # the sibling files of a Kaldi directory stay valid
                (folder / other).write_bytes(other_data)
            path.write_bytes(mutate(data, rng))
            alarm()
            try:
                read(path)
            except expected:
                pass
            except Exception as err:  # the finding: any other exception escaping a reader
                failures.append(f"{name} mutation {number}: {type(err).__name__}: {err}")
            signal.alarm(0)
    return failures


@pytest.mark.slow
def test_fuzz_audio_reader(tmp_path, alarm):
    failures = fuzz(audio_seeds(), tmp_path, lambda p: load_audio(p, max_seconds=30), AudioError, alarm, seed=1)
    assert not failures, "\n".join(failures[:20])


@pytest.mark.slow
def test_fuzz_image_reader(tmp_path, alarm):
    failures = fuzz(image_seeds(), tmp_path, load_image, ImageError, alarm, seed=2)
    assert not failures, "\n".join(failures[:20])


@pytest.mark.slow
def test_fuzz_manifest_readers(tmp_path, alarm):
    t = np.arange(1600) / 16000
    for name in ("clip.wav", "clip2.wav"):
        sf.write(tmp_path / name, 0.3 * np.sin(2 * np.pi * 300 * t), 16000)
    for name in ("pic.png", "pic2.png"):
        Image.new("RGB", (4, 4), (10, 200, 10)).save(tmp_path / name)

    def read(path):
        load_dataset(path.parent if path.parent.name == "kaldi" else path, on_error="skip")

    failures = fuzz(manifest_seeds(), tmp_path, read, ManifestError, alarm, seed=3)
    assert not failures, "\n".join(failures[:20])
