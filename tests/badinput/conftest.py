"""The bad-input corpus: every kind of unusable file, manifest and data set, generated (no downloads).

`make_bad_file(kind, folder)` writes one bad audio or image file; `make_bad_dataset(kind, root)`
writes a data set (folder, manifest or Kaldi directory) with one defect. Each case also names the
item an error message must point at. A signal-based alarm turns a hang into a failure.
"""

from __future__ import annotations

import signal
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

CASE_SECONDS = 60
RATE = 16_000


@pytest.fixture(autouse=True)
def no_hang():
    """Fail a case that runs past CASE_SECONDS instead of letting it hang the suite."""

    def stop(signum, frame):
        raise TimeoutError(f"hung for {CASE_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(CASE_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# --- good items the bad ones are mixed with ----------------------------------------------------------


def tone(path: Path, seconds=0.4, freq=440.0, subtype="PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * RATE)) / RATE
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), RATE, subtype=subtype)
    return path


def picture(path: Path, bright_left: bool, seed=0) -> Path:
    """16x16 grey noise with a bright bar on the left or right: two classes a pixel model tells apart."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 40, (16, 16)).astype(np.uint8)
    column = 2 if bright_left else 10
    pixels[4:12, column:column + 4] = 220
    Image.fromarray(pixels).convert("RGB").save(path)
    return path


def image_folder(root: Path, per_class=6) -> Path:
    for label, left in (("left", True), ("right", False)):
        for i in range(per_class):
            picture(root / label / f"{i}.png", left, seed=i + (100 if left else 0))
    return root


def speech_folder(root: Path, per_word=4) -> Path:
    """Two words, each said by two speakers (folders below the word): enough to hold a speaker out."""
    for word, freq in (("yes", 300.0), ("no", 700.0)):
        for i in range(per_word):
            tone(root / word / f"spk{i % 2}" / f"{i}.wav", freq=freq + 20 * i)
    return root


# --- bad files ---------------------------------------------------------------------------------------


def _wav_header_bytes(rate: int, channels: int, frames: int = 200) -> bytes:
    data = np.random.default_rng(0).integers(-8000, 8000, frames * channels, dtype=np.int16).tobytes()
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    return (b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", len(data)) + data)


def _png_claiming(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose IHDR (with a correct checksum) claims width x height pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")


def _jpeg_bytes(folder: Path) -> bytes:
    Image.new("RGB", (16, 16), (200, 20, 20)).save(folder / "_tmp.jpg")
    data = (folder / "_tmp.jpg").read_bytes()
    (folder / "_tmp.jpg").unlink()
    return data


def _truncated(path: Path, data_path: Path) -> Path:
    data = data_path.read_bytes()
    data_path.unlink()
    path.write_bytes(data[: len(data) // 2])
    return path


def _nan_wav(path: Path) -> Path:
    wave = 0.3 * np.sin(np.linspace(0, 200, 6400)).astype(np.float32)
    wave[100] = np.nan
    sf.write(path, wave, RATE, subtype="FLOAT")
    return path


BAD_AUDIO = {
    "truncated": lambda d: _truncated(d / "truncated.wav", tone(d / "_whole.wav", seconds=1.0)),
    "zero-byte": lambda d: _write(d / "zero.wav", b""),
    "jpeg-named-wav": lambda d: _write(d / "photo.wav", _jpeg_bytes(d)),
    "html-disguised": lambda d: _write(d / "page.flac", b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n"),
    "nan-samples": lambda d: _nan_wav(d / "nan.wav"),
    "rate-1hz": lambda d: _write(d / "slow.wav", _wav_header_bytes(1, 1)),
    "rate-10mhz": lambda d: _write(d / "fast.wav", _wav_header_bytes(10_000_000, 1)),
    "300-channels": lambda d: _write(d / "wide.wav", _wav_header_bytes(RATE, 300)),
}

BAD_IMAGES = {
    "truncated-png": lambda d: _truncated(d / "truncated.png", _noise_image(d / "_whole.png")),
    "truncated-jpeg": lambda d: _truncated(d / "truncated.jpg", _noise_image(d / "_whole.jpg")),
    "zero-byte": lambda d: _write(d / "zero.png", b""),
    "wav-named-jpg": lambda d: _write(d / "sound.jpg", _wav_header_bytes(RATE, 1)),
    "html-disguised": lambda d: _write(d / "page.png", b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n"),
    "decompression-bomb": lambda d: _write(d / "bomb.png", _png_claiming(50_000, 50_000)),
}


def _noise_image(path: Path) -> Path:
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
    return path


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_bad_file(kind: str, folder: Path) -> Path:
    """Write the bad file `kind` (a key of BAD_AUDIO, or of BAD_IMAGES prefixed "image:") into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind.startswith("image:"):
        return BAD_IMAGES[kind.removeprefix("image:")](folder)
    return BAD_AUDIO[kind](folder)


def animated_gif(path: Path) -> Path:
    frames = [Image.new("RGB", (16, 16), color) for color in ((220, 220, 220), (0, 0, 0), (90, 90, 90))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=80, loop=0)
    return path


# --- bad data sets: (task, writer(root) -> (data path, the item the error must name)) ---------------


def _image_manifest(root: Path, rows: list[str], name="m.csv", encoding_bytes: bytes | None = None) -> Path:
    image_folder(root / "photos")
    manifest = root / name
    good = [f"photos/{label}/{i}.png,{label}" for label in ("left", "right") for i in range(6)]
    manifest.write_bytes(encoding_bytes if encoding_bytes is not None else ("path,label\n" + "\n".join(good + rows) + "\n").encode())
    return manifest


def _missing_file(root):
    return _image_manifest(root, ["photos/left/gone.png,left"]), "gone.png"


def _duplicate_rows(root):
    return _image_manifest(root, ["photos/left/0.png,left"]), "listed twice"


def _escaping_path(root):
    return _image_manifest(root, ["../../outside/nowhere.png,left"]), "nowhere.png"


def _not_utf8(root):
    data = b"path,label\n" + b"".join(f"photos/{lb}/{i}.png,{lb}\n".encode() for lb in ("left", "right") for i in range(6))
    return _image_manifest(root, [], encoding_bytes=data + b"photos/left/0.png,caf\xe9\n"), "not UTF-8 at line 14"


def _empty_manifest(root):
    (root / "m.csv").write_text("path,label\n")
    return root / "m.csv", "m.csv"


def _empty_folder(root):
    (root / "photos" / "left").mkdir(parents=True)
    return root / "photos", "no files found"


def _one_class(root):
    for i in range(5):
        picture(root / "cats" / "cat" / f"{i}.png", True, seed=i)
    return root / "cats", "only one class (cat)"


def _kaldi(root: Path, text: bytes, utt2spk: str) -> Path:
    data = root / "kaldi"
    data.mkdir(parents=True)
    utts = [f"u{i}" for i in range(6)]
    for i, utt in enumerate(utts):
        tone(root / "wav" / f"{utt}.wav", freq=300 + 100 * (i % 2))
    (data / "wav.scp").write_text("".join(f"{u} {root / 'wav' / (u + '.wav')}\n" for u in utts))
    (data / "text").write_bytes(text)
    (data / "utt2spk").write_text(utt2spk)
    return data


def _kaldi_not_utf8(root):
    text = b"".join(f"u{i} {'yes' if i % 2 == 0 else 'no'}\n".encode() for i in range(5)) + b"u5 caf\xe9\n"
    return _kaldi(root, text, "".join(f"u{i} spk{i % 3}\n" for i in range(6))), "not UTF-8 at line 6"


def _kaldi_incomplete_utt2spk(root):
    text = "".join(f"u{i} {'yes' if i % 2 == 0 else 'no'}\n" for i in range(6)).encode()
    return _kaldi(root, text, "".join(f"u{i} spk{i % 3}\n" for i in range(4))), "u4, u5"


def _empty_transcript(root):
    speech_folder(root / "clips")
    (root / "m.tsv").write_text("path\ttext\tspeaker\n" + "".join(
        f"clips/{w}/spk{i % 2}/{i}.wav\t{w}\tspk{i % 2}\n" for w in ("yes", "no") for i in range(4)) + "clips/yes/spk0/0.wav\t \tspk0\n")
    return root / "m.tsv", "m.tsv:10"


def _tiny_clip_long_transcript(root):
    speech_folder(root / "clips")
    tone(root / "clips" / "tiny.wav", seconds=0.01)
    (root / "m.tsv").write_text("path\ttext\tspeaker\n" + "".join(
        f"clips/{w}/spk{i % 2}/{i}.wav\t{w}\tspk{i % 2}\n" for w in ("yes", "no") for i in range(4))
        + "clips/tiny.wav\tthe quick brown fox jumps over dogs\tspk0\n")
    return root / "m.tsv", "tiny.wav"


BAD_DATASETS = {
    "manifest-missing-file": ("image", _missing_file),
    "manifest-duplicate-rows": ("image", _duplicate_rows),
    "manifest-escaping-path": ("image", _escaping_path),
    "manifest-not-utf8": ("image", _not_utf8),
    "manifest-empty": ("image", _empty_manifest),
    "folder-empty": ("image", _empty_folder),
    "folder-one-class": ("image", _one_class),
    "kaldi-not-utf8": ("speech", _kaldi_not_utf8),
    "kaldi-incomplete-utt2spk": ("speech", _kaldi_incomplete_utt2spk),
    "manifest-empty-transcript": ("speech", _empty_transcript),
    "tiny-clip-seven-words": ("speech", _tiny_clip_long_transcript),
}


def make_bad_dataset(kind: str, root: Path) -> tuple[str, Path, str]:
    """(task, data path, text the error must contain) for the bad data set `kind`."""
    task, writer = BAD_DATASETS[kind]
    root.mkdir(parents=True, exist_ok=True)
    path, named = writer(root)
    return task, path, named


@pytest.fixture(scope="session")
def corpus():
    """The corpus writers, for the test modules (conftest functions cannot be imported there)."""
    from types import SimpleNamespace

    return SimpleNamespace(tone=tone, picture=picture, image_folder=image_folder, speech_folder=speech_folder,
                           make_bad_file=make_bad_file, make_bad_dataset=make_bad_dataset, animated_gif=animated_gif,
                           BAD_AUDIO=BAD_AUDIO, BAD_IMAGES=BAD_IMAGES, BAD_DATASETS=BAD_DATASETS)


def pytest_generate_tests(metafunc):
    """Run a test once per corpus case it asks for: bad_audio, bad_image or bad_dataset."""
    for name, cases in (("bad_audio", BAD_AUDIO), ("bad_image", BAD_IMAGES), ("bad_dataset", BAD_DATASETS)):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, list(cases))
