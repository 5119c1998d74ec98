"""The speech-digits corpus: deterministic, transcripts match the audio, cached, voices held out."""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile as sf
import soxr

from e2elab.data.audio import load_audio
from e2elab.data.text import ALPHABET, DIGIT_WORDS, normalize_transcript
from e2elab.synth import espeak
from e2elab.synth.speech_digits import (
    ACCENTS,
    MANIFEST,
    SIZES,
    corpus_dir,
    generate,
    load_speech_digits,
    make_voices,
)

TRANSCRIPT = re.compile(rf"^({'|'.join(DIGIT_WORDS)})( ({'|'.join(DIGIT_WORDS)}))*$")


@pytest.fixture
def tiny():
    """The tiny corpus, generated once into the test session's cache and reused."""
    return load_speech_digits(seed=0, size="tiny")


def _manifest_and_audio(folder):
    text = (folder / MANIFEST).read_text()
    paths = [line.split("\t")[0] for line in text.splitlines()[1:]]
    return text, [(folder / p).read_bytes() for p in paths]


def test_tiny_corpus_shape_and_split(tiny):
    n_voices, n_clips = SIZES["tiny"]
    assert len(tiny) == n_voices * n_clips
    assert tiny.task == "speech" and tiny.name == "speech-digits"
    assert len(np.unique(tiny.groups)) == n_voices
    assert set(tiny.splits) == {"train", "test"}
    # Held-out voices never appear in train.
    test_voices = set(tiny.groups[tiny.split == "test"])
    assert test_voices and not test_voices & set(tiny.groups[tiny.split == "train"])
    info = sf.info(tiny.X[0])
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")


def test_transcripts_are_digit_words_in_the_shared_alphabet(tiny):
    for text in tiny.y:
        assert TRANSCRIPT.match(text), text
        assert 1 <= len(text.split()) <= 7
        assert set(text) <= set(ALPHABET) and normalize_transcript(text) == text
    assert len(set(tiny.y)) > 0.8 * len(tiny)  # strings, not a handful of repeated prompts


def test_same_seed_gives_identical_transcripts_and_audio_bytes(tiny, tmp_path):
    first = _manifest_and_audio(corpus_dir(0, "tiny"))
    # One worker instead of several: the audio does not depend on how the work is shared out.
    generate(tmp_path / "again", seed=0, size="tiny", n_jobs=1, progress=False)
    second = _manifest_and_audio(tmp_path / "again")
    assert first[0] == second[0]
    assert first[1] == second[1]


def test_different_seed_gives_different_corpus(tiny):
    other = load_speech_digits(seed=1, size="tiny")
    assert list(other.y) != list(tiny.y)
    assert sf.read(other.X[0])[0].shape != sf.read(tiny.X[0])[0].shape or not np.array_equal(
        sf.read(other.X[0])[0], sf.read(tiny.X[0])[0])


def test_clips_are_audible_and_grow_with_digit_count(tiny):
    counts, durations = [], []
    for path, text in zip(tiny.X, tiny.y):
        audio = load_audio(path)
        assert 0.2 < np.max(np.abs(audio)) <= 1.0
        counts.append(len(text.split()))
        durations.append(len(audio) / 16000)
    counts, durations = np.array(counts), np.array(durations)
    assert np.all((durations > 0.4) & (durations < 6.0))
    # Each added digit adds speech: duration rises steadily with the number of digits spoken.
    slope, intercept = np.polyfit(counts, durations, 1)
    assert 0.15 < slope < 0.6
    assert np.corrcoef(counts, durations)[0, 1] > 0.7


def _features(audio: np.ndarray, rate: int = 16000) -> np.ndarray:
    """(T, 24) log-mel spectra, each frame's mean removed (so level and gain do not matter)."""
    frame, hop, nfft = 400, 160, 512
    audio = np.append(audio[0], audio[1:] - 0.97 * audio[:-1])
    n = 1 + max(0, (len(audio) - frame) // hop)
    frames = audio[np.arange(frame)[None, :] + hop * np.arange(n)[:, None]] * np.hamming(frame)
    power = np.abs(np.fft.rfft(frames, nfft)) ** 2  # (T, 257)
    mel = np.linspace(2595 * np.log10(1 + 100 / 700), 2595 * np.log10(1 + 7000 / 700), 26)
    edges = 700 * (10 ** (mel / 2595) - 1)
    bins = np.fft.rfftfreq(nfft, 1 / rate)
    rising = (bins[None] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    falling = (edges[2:, None] - bins[None]) / (edges[2:, None] - edges[1:-1, None])
    logmel = np.log(power @ np.maximum(0, np.minimum(rising, falling)).T + 1e-8)  # (T, 24)
    return logmel - logmel.mean(axis=1, keepdims=True)


def _alignment_cost(clip: np.ndarray, reference: np.ndarray) -> float:
    """Mean frame distance along the best DTW path through all of `reference` (steps 0, 1, 2)."""
    cost = np.full(len(reference), np.inf)
    for t, frame in enumerate(clip):
        local = np.sqrt(((reference - frame) ** 2).sum(axis=1))  # (L,)
        if t == 0:
            cost[0] = local[0]
            continue
        best = np.minimum(cost, np.concatenate([[np.inf], cost[:-1]]))
        best = np.minimum(best, np.concatenate([[np.inf, np.inf], cost[:-2]]))
        cost = best + local
    return float(cost[-1] / len(clip))


def test_transcripts_match_what_was_spoken(tiny):
    """Each clip aligns better with its own transcript than with that transcript one digit changed.

    The references are built independently of the corpus: each digit word is synthesised alone
    with the clip's voice and the words are chained in the order the transcript gives.
    """
    voices = {v.speaker: v for v in make_voices(0, SIZES["tiny"][0])}
    rng = np.random.default_rng(0)
    wins = trials = 0
    for index in range(0, len(tiny), 2):
        voice = voices[tiny.groups[index]]
        templates = {}
        for word in DIGIT_WORDS:
            spoken = espeak.synthesize(word, voice.accent, voice.variant, voice.rate, voice.pitch, voice.pitch_range)
            audio = soxr.resample(spoken.samples.astype(np.float32) / 32768, spoken.sample_rate, 16000)
            loud = np.nonzero(np.abs(audio) > 0.01)[0]
            templates[word] = _features(audio[loud[0] : loud[-1]])
        clip = _features(load_audio(tiny.X[index]))
        silence = clip[:3]  # every clip starts with at least 50 ms of (noisy) silence

        def reference(words):
            return np.concatenate([silence] + [templates[w] for w in words] + [silence])

        words = tiny.y[index].split()
        own = _alignment_cost(clip, reference(words))
        for _ in range(2):
            changed = list(words)
            position = int(rng.integers(len(changed)))
            changed[position] = DIGIT_WORDS[(DIGIT_WORDS.index(changed[position]) + int(rng.integers(1, 10))) % 10]
            wins += own < _alignment_cost(clip, reference(changed))
            trials += 1
    assert wins >= 0.9 * trials


def test_cache_is_reused_and_an_incomplete_one_regenerated(tiny):
    folder = corpus_dir(0, "tiny")
    manifest = folder / MANIFEST
    stamp = manifest.stat().st_mtime_ns
    again = load_speech_digits(seed=0, size="tiny")
    assert manifest.stat().st_mtime_ns == stamp
    assert list(again.X) == list(tiny.X) and list(again.y) == list(tiny.y)
    # A clip gone missing (an interrupted or damaged cache) makes the corpus be generated again.
    clip = folder / again.X[-1]
    original = clip.read_bytes()
    clip.unlink()
    regenerated = load_speech_digits(seed=0, size="tiny")
    assert clip.read_bytes() == original
    assert list(regenerated.y) == list(tiny.y)


def test_voices_are_distinct_and_held_out_voices_cover_accents():
    voices = make_voices(0, SIZES["default"][0])
    assert len({v.speaker for v in voices}) == len(voices)
    assert len({(v.accent, v.variant) for v in voices}) == len(voices)
    test = [v for v in voices if v.split == "test"]
    assert 0.15 <= len(test) / len(voices) <= 0.25
    assert len({v.accent for v in test}) == min(len(test), len(ACCENTS))
    assert {v.accent for v in voices} == set(ACCENTS)
    # The voices of a smaller size are the first voices of a larger one.
    assert make_voices(0, 4) == voices[:1] + [v.__class__(**{**v.__dict__, "split": "train"}) for v in voices[1:4]]


def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match="sizes: tiny, small, default, large"):
        load_speech_digits(size="huge")


def test_a_failing_worker_is_reported(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "wav").write_text("a file where the folder of clips should be")
    with pytest.raises(RuntimeError, match="synthesising voice v00"):
        generate(folder, seed=0, size="tiny", n_jobs=1, progress=False)
    assert not (folder / MANIFEST).exists()
