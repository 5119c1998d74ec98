"""The traditional speech explanation: chain alignment against brute force, and whole explanations
of a small recogniser of a toy language (every phone a tone)."""

import itertools

import numpy as np
import pytest

from e2elab.errors import AudioError
from e2elab.explain import explain
from e2elab.explain.speech_traditional import chain_align
from e2elab.speech.traditional import TraditionalSpeechRecognizer

RATE = 16_000
TONES = {"P1": 400.0, "P2": 1200.0, "P3": 2500.0}
LEXICON = {"ka": ["P1", "P2"], "lo": ["P3"]}


def brute_force(emissions, self_logp, next_logp):
    n_frames, n_states = emissions.shape
    best, best_path = -np.inf, None
    for path in itertools.product(range(n_states), repeat=n_frames):
        if path[0] != 0 or path[-1] != n_states - 1:
            continue
        if any(b not in (a, a + 1) for a, b in zip(path, path[1:])):
            continue
        score = emissions[0, 0] + sum(emissions[t, s] + (self_logp[s] if s == path[t - 1] else next_logp[s])
                                      for t, s in enumerate(path) if t > 0)
        if score > best:
            best, best_path = score, path
    return best, np.array(best_path)


@pytest.mark.parametrize("seed", range(4))
def test_chain_alignment_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    emissions = rng.normal(size=(6, 3)) * 3
    self_logp = np.log(rng.uniform(0.2, 0.8, 3))
    next_logp = np.log1p(-np.exp(np.roll(self_logp, 1)))
    next_logp[0] = -np.inf
    score, path, per_frame = chain_align(emissions, self_logp, next_logp)
    expected, expected_path = brute_force(emissions, self_logp, next_logp)
    assert score == pytest.approx(expected)
    np.testing.assert_array_equal(path, expected_path)
    assert per_frame.sum() == pytest.approx(score)


def test_chain_longer_than_the_segment_cannot_align():
    score, _, _ = chain_align(np.zeros((2, 3)), np.zeros(3), np.zeros(3))
    assert score == -np.inf


def _utterance(words, rng):
    parts = [np.zeros(1600)]
    for word in words:
        for phone in LEXICON[word]:
            t = np.arange(int(RATE * 0.12)) / RATE
            parts.append(0.3 * np.sin(2 * np.pi * TONES[phone] * t))
        parts.append(np.zeros(800))
    wave = np.concatenate(parts)
    return (wave + 0.003 * rng.standard_normal(wave.size)).astype(np.float32)


@pytest.fixture(scope="module")
def recogniser():
    rng = np.random.default_rng(0)
    texts = ["ka", "lo", "ka lo", "lo ka", "ka ka", "lo lo", "ka lo ka", "lo"]
    clips = [_utterance(t.split(), rng) for t in texts]
    model = TraditionalSpeechRecognizer(lexicon=LEXICON, n_states=1, n_mixtures=1, flat_passes=4, lm="loop",
                                        cmvn="utterance", max_seconds=2.0)
    return model.fit(clips, texts), clips


def test_explanation_aligns_words_scores_them_and_reports_its_work(recogniser, capsys):
    model, clips = recogniser
    record = explain(model, [clips[2]], progress=True)[0]
    assert record["prediction"] == "ka lo"
    assert [w["word"] for w in record["alignment"]["words"]] == ["ka", "lo"]
    assert record["alignment"]["words"][0]["runner_up"] == "lo"
    assert record["work"]["frames"] == len(record["time_relevance"]) and record["work"]["vocabulary"] == 2
    assert record["scores"]["randomisation_spearman"] is not None and record["scores"]["deletion_auc"] is not None
    assert "explaining" in capsys.readouterr().err


def test_clip_over_the_limit_is_refused_before_any_work(recogniser):
    model, clips = recogniser
    long_clip = np.tile(clips[0], 8)  # about 3 s
    with pytest.raises(AudioError, match="over the limit of 2 s"):
        explain(model, [clips[0], long_clip])
    assert explain(model, [long_clip], max_seconds=5.0, sanity=False, faithfulness=False)[0]["work"]["frames"] > 250
