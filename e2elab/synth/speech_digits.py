"""`speech-digits`: a synthetic corpus of connected English digit strings, generated offline.

Each "speaker" is an espeak-ng voice: an English accent (British, American, Scottish, Caribbean,
Lancastrian, West Midlands, RP, New York) combined with a voice variant (male, female and Klatt
voices) and its own speaking rate, pitch and pitch range. Each clip speaks 1 to 7 digits
("four two seven") with a little per-clip variation in rate, pitch and pauses, then passes
through a random gain, a mild channel tilt and light background noise, so that the data are
not trivially clean. Everything follows from the seed: the same seed and size give the same
transcripts and the same audio bytes.

The corpus defines its own split: about a fifth of the voices, one per accent as far as the
count allows, are held out as "test" and never appear in "train", so figures "with speakers
held out" are well defined.

The clips are written once as 16 kHz mono 16-bit wav files under the cache folder, with a
`manifest.tsv` (path, text, speaker, split) written last and atomically: a folder without it is
incomplete and is generated again.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..base import progress_wanted
from ..data import paths
from ..data.dataset import Dataset
from ..data.text import DIGIT_WORDS
from .effects import coloured_noise

VERSION = 1
SAMPLE_RATE = 16_000

# (number of voices, clips per voice) for each size. On one free CPU core generation takes about
# 1.5 s per 100 clips; on disk a clip takes about 60 kB (default: 1,600 clips, 51 minutes, 100 MB).
SIZES = {
    "tiny": (4, 10),  # fast tests
    "small": (12, 30),  # quick demos
    "default": (40, 40),
    "large": (56, 100),  # learning curves and longer training runs
}

# The English voices of espeak-ng-data (en-Shaw, the Shavian alphabet, is left out).
ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")

# Voice variants that stay intelligible. Whispered (whisper, whisperf, caleb), croaking, heavily
# echoed or robotic variants (robosoft*, RicishayMax*, UniRobot, Demonic, announcer, ...) are left out.
MALE_VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8",
    "klatt", "klatt2", "klatt3", "klatt4", "klatt5", "klatt6",
    "adam", "benjamin", "david", "edward", "edward2", "Andy", "Lee", "Alex", "Mike", "Gene", "Jacky",
    "Mario", "Michael", "marcelo", "gustave", "robert", "rob", "paul", "quincy", "john", "norbert",
    "ian", "iven3", "travis", "victor", "Denis", "michel", "miguel", "grandpa", "ed", "max",
)
FEMALE_VARIANTS = (
    "f1", "f2", "f3", "f4", "f5", "Annie", "Andrea", "aunty", "belinda", "linda", "grandma", "steph",
    "steph3", "shelby", "anika", "zac",
)
# Voices alternate male, female, male, female, male: 40% female.
GENDER_PATTERN = "mfmfm"

TEST_FRACTION = 0.2
MANIFEST = "manifest.tsv"
VOICES = "voices.tsv"


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: an accent, a variant and its habitual rate, pitch and pitch range."""

    speaker: str
    accent: str
    variant: str
    rate: int  # words per minute
    pitch: int  # espeak-ng's 0-99 scale, relative to the variant's own pitch
    pitch_range: int
    split: str


def corpus_dir(seed: int = 0, size: str = "default") -> Path:
    """The cache folder that holds (or will hold) the corpus for `seed` and `size`."""
    _check_size(size)
    if int(seed) < 0:
        raise ValueError(f"speech-digits seed must be a non-negative integer, not {seed!r}")
    return paths.cache_dir() / f"speech-digits-{size}-seed{int(seed)}-v{VERSION}"


def load_speech_digits(
    seed: int = 0, size: str = "default", n_jobs: int | None = None, progress: bool | None = None
) -> Dataset:
    """The speech-digits corpus for `seed` and `size` ("tiny", "small", "default", "large").

    Generates it into the cache on first use (see SIZES for the cost), then reads the cached
    manifest. X holds wav paths, y the transcripts ("four two seven"), groups the
    voice ids, split "train" or "test" (the held-out voices). `n_jobs` worker processes
    synthesise (default: the CPU count); `progress` shows a bar (default: when on a terminal).
    """
    folder = corpus_dir(seed, size)
    rows = read_manifest(folder)
    if rows is None:
        generate(folder, seed, size, n_jobs=n_jobs, progress=progress)
        rows = read_manifest(folder)
        if rows is None:
            raise RuntimeError(f"{folder / MANIFEST}: generation finished but the manifest is incomplete")
    return manifest_dataset(folder, rows, "speech-digits")


def manifest_dataset(folder: Path, rows: list[tuple[str, str, str, str]], name: str) -> Dataset:
    """The Dataset of a synthetic corpus's manifest rows (path, text, speaker, split)."""
    return Dataset(
        X=[str(folder / path) for path, _, _, _ in rows],
        y=[text for _, text, _, _ in rows],
        groups=[speaker for _, _, speaker, _ in rows],
        split=[split for _, _, _, split in rows],
        task="speech",
        name=name,
        source=str(folder),
    )


def make_voices(seed: int = 0, n_voices: int = 40) -> list[Voice]:
    """`n_voices` distinct voices drawn from `seed`, a fifth held out (spread over the accents)."""
    rng = np.random.default_rng([int(seed), VERSION, 0])
    accent_order = rng.permutation(len(ACCENTS))
    pools: dict[str, list[str]] = {"m": [], "f": []}
    drawn, used = [], set()
    for i in range(n_voices):
        accent = ACCENTS[accent_order[i % len(ACCENTS)]]
        gender = GENDER_PATTERN[i % len(GENDER_PATTERN)]
        pool = pools[gender]
        if all((accent, v) in used for v in pool):  # every variant once before any is reused
            source = MALE_VARIANTS if gender == "m" else FEMALE_VARIANTS
            pool[:0] = [source[j] for j in rng.permutation(len(source))]
        # The last variant of the pool not yet spoken with this accent: no two voices share both.
        variant = pool.pop(max(j for j, v in enumerate(pool) if (accent, v) not in used))
        used.add((accent, variant))
        rate = int(rng.integers(140, 211))
        pitch = int(rng.integers(30, 71))
        pitch_range = int(rng.integers(25, 81))
        drawn.append((accent, variant, rate, pitch, pitch_range))
    # Hold out one voice from each of the first accents in the seeded order: voices i < n_test
    # have distinct accents as long as n_test <= len(ACCENTS).
    n_test = max(1, int(round(TEST_FRACTION * n_voices)))
    held_out = set(range(n_test))
    return [
        Voice(f"v{i:02d}-{accent}-{variant.lower()}", accent, variant, rate, pitch, pitch_range,
              "test" if i in held_out else "train")
        for i, (accent, variant, rate, pitch, pitch_range) in enumerate(drawn)
    ]


def generate(
    folder: Path, seed: int = 0, size: str = "default", n_jobs: int | None = None, progress: bool | None = None
) -> Path:
    """Synthesise the corpus into `folder` and write its manifest last; returns the manifest path.

    Each voice is rendered by a fresh Python process (`python -m e2elab.synth.speech_digits`):
    espeak-ng carries state from one utterance to the next, so a fixed sequence in a fresh
    process is what makes the audio bit-for-bit reproducible (see `e2elab.synth.espeak`). Plain
    subprocesses rather than multiprocessing keep this safe to call from any script, with or
    without an ``if __name__ == "__main__"`` guard.
    """
    from tqdm.auto import tqdm

    n_voices, n_clips = SIZES[_check_size(size)]
    voices = make_voices(seed, n_voices)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(n_jobs or os.cpu_count() or 1, n_voices))
    show = progress_wanted(progress)
    results: dict[int, list[tuple[str, str, str, str]]] = {}
    with ThreadPoolExecutor(jobs) as pool:
        futures = {pool.submit(_render_in_subprocess, folder, seed, index, voice, n_clips): index
                   for index, voice in enumerate(voices)}
        bar = tqdm(total=n_voices * n_clips, desc=f"speech-digits {size}", unit="clip", disable=not show)
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            bar.update(n_clips)
        bar.close()
    write_tsv(folder / VOICES, ["speaker", "accent", "variant", "rate", "pitch", "pitch_range", "split"],
               [list(asdict(v).values()) for v in voices])
    rows = [row for index in range(n_voices) for row in results[index]]
    return write_tsv(folder / MANIFEST, ["path", "text", "speaker", "split"], rows)


def digit_string(rng: np.random.Generator, max_digits: int = 7) -> str:
    """A random string of 1 to `max_digits` digit words, e.g. "four two seven"."""
    n = int(rng.integers(1, max_digits + 1))
    return " ".join(DIGIT_WORDS[d] for d in rng.integers(0, 10, size=n))


def _render_in_subprocess(folder: Path, seed: int, index: int, voice: Voice, n_clips: int) -> list[tuple[str, ...]]:
    """Run `_render_voice` in a fresh interpreter and return its manifest rows."""
    task = json.dumps(
        {"folder": str(folder), "seed": int(seed), "index": index, "voice": asdict(voice), "n_clips": n_clips})
    # The child imports e2elab from where this process found it, installed or not.
    package_root = str(Path(__file__).resolve().parents[2])
    python_path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path}
    done = subprocess.run([sys.executable, "-m", __name__, task], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{folder}: synthesising voice {voice.speaker} failed:\n{done.stderr[-2000:]}")
    return [tuple(row) for row in json.loads(done.stdout.strip().splitlines()[-1])]


def _render_voice(folder: str, seed: int, index: int, voice: Voice, n_clips: int) -> list[tuple[str, str, str, str]]:
    """Synthesise one voice's clips into `folder`/wav/<speaker>/ (runs in a worker process)."""
    import soundfile as sf
    import soxr

    from . import espeak

    rng = np.random.default_rng([int(seed), VERSION, 1, index])
    out_dir = Path(folder) / "wav" / voice.speaker
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for k in range(n_clips):
        text = digit_string(rng)
        rate = int(np.clip(voice.rate * rng.uniform(0.92, 1.08), *espeak.RATE_RANGE))
        pitch = int(np.clip(voice.pitch + rng.integers(-5, 6), *espeak.PITCH_RANGE))
        word_gap = int(rng.integers(1, 5)) if rng.random() < 0.3 else 0
        spoken = espeak.synthesize(text, voice.accent, voice.variant, rate, pitch, voice.pitch_range, word_gap,
                                   seed=int(rng.integers(1, 2**31)))
        audio = soxr.resample(spoken.samples.astype(np.float32) / 32768.0, spoken.sample_rate, SAMPLE_RATE,
                              quality="HQ")
        audio = _degrade(audio, rng)
        relative = Path("wav") / voice.speaker / f"{voice.speaker}-{k:03d}.wav"
        target = Path(folder) / relative
        with atomic_path(target) as temporary:
            sf.write(str(temporary), audio, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        rows.append((relative.as_posix(), text, voice.speaker, voice.split))
    return rows


def _degrade(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pad with silence, tilt the spectrum, set a random level and add light coloured noise."""
    lead, tail = (int(rng.uniform(0.05, 0.35) * SAMPLE_RATE) for _ in range(2))
    audio = np.concatenate([np.zeros(lead, np.float32), audio, np.zeros(tail, np.float32)])
    # A first-order channel: tilt > 0 thins the low end (small speaker), < 0 muffles the top.
    tilt = rng.uniform(-0.4, 0.6)
    audio = np.append(audio[0], audio[1:] - tilt * audio[:-1]).astype(np.float32)
    speech_rms = float(np.sqrt(np.mean(audio[lead:-tail] ** 2))) + 1e-9
    snr_db = rng.uniform(20.0, 45.0)
    noise = coloured_noise(rng, audio.size, rng.uniform(0.0, 1.5), SAMPLE_RATE)
    noise *= speech_rms / (float(np.sqrt(np.mean(noise**2))) + 1e-12) * 10 ** (-snr_db / 20)
    audio = audio + noise
    peak = rng.uniform(0.25, 0.95)
    return (audio * (peak / (float(np.max(np.abs(audio))) + 1e-12))).astype(np.float32)


def write_tsv(path: Path, header: list[str], rows) -> Path:
    """Write a tab-separated file atomically (temporary name, then rename)."""
    with atomic_path(path) as temporary, open(temporary, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_manifest(folder: Path) -> list[tuple[str, str, str, str]] | None:
    """The manifest's rows, or None when it is missing, malformed or names a missing clip."""
    path = folder / MANIFEST
    if not path.exists():
        return None
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        if next(reader, None) != ["path", "text", "speaker", "split"]:
            return None
        rows = [tuple(row) for row in reader]
    if not rows or any(len(row) != 4 or not (folder / row[0]).is_file() for row in rows):
        return None
    return rows


def _check_size(size: str) -> str:
    if size not in SIZES:
        raise ValueError(f"unknown speech-digits size {size!r}; sizes: {', '.join(SIZES)}")
    return size


if __name__ == "__main__":
    # Worker entry point used by `generate`: render one voice, print its manifest rows as JSON.
    _task = json.loads(sys.argv[1])
    _rows = _render_voice(_task["folder"], _task["seed"], _task["index"], Voice(**_task["voice"]), _task["n_clips"])
    print(json.dumps(_rows))
