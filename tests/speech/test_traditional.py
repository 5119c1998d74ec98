"""The traditional recogniser end to end on a synthetic single-voice language, and on bad input."""

import numpy as np
import pytest
from sklearn.base import clone

import e2elab
from e2elab.speech.traditional import TraditionalSpeechRecognizer

RATE = 16_000
# A toy language: four phones, each a distinct harmonic spectrum; three words made of them.
PHONE_FORMANTS = {"P1": (300, 2300), "P2": (700, 1200), "P3": (450, 900), "P4": (350, 1800)}
LEXICON = {"ka": ["P1", "P2"], "lo": ["P3"], "mi": ["P4", "P1"]}


def _phone(name, rng, seconds=0.12):
    t = np.arange(int(RATE * seconds)) / RATE
    f0 = 120 * (1 + 0.02 * rng.standard_normal())
    wave = sum(np.sin(2 * np.pi * f * t) / (1 + abs(f - PHONE_FORMANTS[name][0]) / 150 + abs(f - PHONE_FORMANTS[name][1]) / 300)
               for f in f0 * np.arange(1, 30))
    return 0.3 * wave * np.hanning(t.size) ** 0.3


def _utterance(words, rng):
    noise = lambda n: 0.003 * rng.standard_normal(n)  # noqa: E731
    parts = [noise(int(RATE * 0.1))]
    for word in words:
        parts.extend(_phone(p, rng, rng.uniform(0.09, 0.14)) for p in LEXICON[word])
        parts.append(noise(int(RATE * rng.uniform(0.03, 0.1))))
    signal = np.concatenate(parts)
    return (signal + noise(signal.size)).astype(np.float32)


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(0)
    words = list(LEXICON)
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 4))) for _ in range(24)]
    return [_utterance(t.split(), rng) for t in texts], texts


def _model(**params):
    settings = dict(lexicon=LEXICON, n_mixtures=2, flat_passes=6, passes_per_split=3, n_states=2, lm="loop", cmvn="utterance")
    return TraditionalSpeechRecognizer(**{**settings, **params})


@pytest.fixture(scope="module")
def fitted(corpus):
    X, y = corpus
    return _model().fit(X, y)


def test_decodes_its_own_training_clips(fitted, corpus):
    X, y = corpus
    assert fitted.score(X, y) >= 0.95
    history = [h["log_likelihood_per_frame"] for h in fitted.history_]
    assert history[-1] > history[0]


def test_details_stages_and_times(fitted, corpus):
    X, y = corpus
    details = fitted.predict_details(X[:2])
    assert details[0]["text"] == " ".join(w["word"] for w in details[0]["words"])
    for word in details[0]["words"]:
        assert 0 <= word["start"] < word["end"] <= len(X[0]) / RATE + 0.02
        assert 0 <= word["confidence"] <= 1
    assert {p["phone"] for p in details[0]["phones"]} <= set(fitted.phones_)
    outputs = fitted.stage_outputs(X[0])
    assert set(outputs) == {s.name for s in fitted.stages}
    assert outputs["mfcc"].shape[1] == 39
    assert outputs["phone_posteriors"].shape == (outputs["mfcc"].shape[0], len(fitted.phones_))
    assert outputs["state_path"].shape == (outputs["mfcc"].shape[0],)


def test_save_load_round_trip(fitted, corpus, tmp_path):
    X, _ = corpus
    e2elab.save(fitted, tmp_path / "model")
    loaded = e2elab.load(tmp_path / "model")
    assert isinstance(loaded, TraditionalSpeechRecognizer)
    assert loaded.predict(X) == fitted.predict(X)
    assert loaded.predict_details(X[:1]) == fitted.predict_details(X[:1])


def test_registered_and_clonable():
    model = e2elab.make_pipeline("speech", "traditional", n_mixtures=4)
    assert isinstance(model, TraditionalSpeechRecognizer)
    assert clone(model).get_params() == model.get_params()


def test_bad_utterances_are_skipped_and_counted(corpus):
    X, y = corpus
    bad_X = list(X[:10]) + [np.zeros(0, dtype=np.float32), X[0], X[1][:800], X[2]]
    bad_y = list(y[:10]) + ["ka", "ka 123", "ka lo mi ka lo mi", "?!"]  # "?!": written, but no words
    model = _model(flat_passes=1, passes_per_split=1, on_error="skip")
    with pytest.warns(UserWarning, match="skipped 4 training utterance"):
        model.fit(bad_X, bad_y)
    assert model.n_skipped_ == 4
    reasons = "\n".join(f"{i}: {r}" for i, r in model.skipped_)
    assert "item 10: clip is empty" in reasons
    assert "item 11" in reasons and "'123'" in reasons
    assert "item 12: 0.05 s is too short for a 6-word transcript" in reasons
    assert "item 13: empty transcript" in reasons


@pytest.mark.parametrize("index, message", [(10, "item 10: clip is empty"), (11, "item 10: .*'123'"),
                                            (12, "item 10: 0.05 s is too short for a 6-word transcript"),
                                            (13, "item 10: empty transcript")])
def test_bad_utterances_raise_by_default(corpus, index, message):
    X, y = corpus
    bad_X = list(X[:10]) + [np.zeros(0, dtype=np.float32), X[0], X[1][:800], X[2]]
    bad_y = list(y[:10]) + ["ka", "ka 123", "ka lo mi ka lo mi", "?!"]  # "?!": written, but no words
    with pytest.raises(e2elab.errors.DataError, match=message):
        _model(flat_passes=1, passes_per_split=1).fit(bad_X[:10] + [bad_X[index]], bad_y[:10] + [bad_y[index]])


def test_clips_over_the_limit_are_refused_or_skipped(corpus):
    X, y = corpus
    long_clip = np.tile(X[0], 20)  # about 10 s
    with pytest.raises(e2elab.errors.AudioError, match="item 6: clip is .* over the limit of 2 s"):
        _model(max_seconds=2.0).fit(list(X[:6]) + [long_clip], list(y[:7]))
    with pytest.warns(UserWarning, match="skipped 1"):
        model = _model(flat_passes=1, passes_per_split=1, max_seconds=2.0, on_error="skip").fit(
            list(X[:6]) + [long_clip], list(y[:7]))
    assert model.n_skipped_ == 1 and "over the limit" in model.skipped_[0][1]
    with pytest.raises(e2elab.errors.AudioError, match="over the limit"):
        model.predict([long_clip])


def test_unknown_words_are_spelled_with_a_warning(corpus):
    X, y = corpus
    model = _model(flat_passes=1, passes_per_split=1)
    with pytest.warns(UserWarning, match="pronounced from their letters: zub"):
        model.fit(X[:6], ["zub"] + list(y[1:6]))
    assert model.pronunciations_["zub"] == ["Z", "AH", "B"]
    with pytest.warns(UserWarning, match="skipped 1"):
        _model(flat_passes=1, passes_per_split=1, oov="skip").fit(X[:6], ["zub"] + list(y[1:6]))


def test_nothing_usable_is_an_error():
    with pytest.raises(e2elab.errors.DataError, match="no usable training utterance"):
        _model(on_error="skip").fit([np.zeros(0, dtype=np.float32)], ["ka"])


@pytest.mark.slow
def test_fsdd_leave_one_speaker_out(shared_data):
    """README figure: mean word accuracy over the six held-out FSDD speakers."""
    shared_data("fsdd")
    ds = e2elab.load_dataset("fsdd")
    X, y, groups = np.asarray(ds.X), np.asarray(ds.y), np.asarray(ds.groups)
    accuracies = []
    for speaker in sorted(set(groups)):
        train, test = groups != speaker, groups == speaker
        model = TraditionalSpeechRecognizer(sample_rate=8000).fit(X[train], y[train], groups=groups[train])
        accuracies.append(model.score(X[test], y[test], groups=groups[test]))
    assert np.mean(accuracies) >= 0.70, accuracies


@pytest.mark.slow
def test_speech_digits_held_out_voices():
    """README figure: WER on the speech-digits voices held out from training."""
    train = e2elab.load_dataset("speech-digits", split="train")
    test = e2elab.load_dataset("speech-digits", split="test")
    model = TraditionalSpeechRecognizer().fit(train.X, train.y, groups=train.groups)
    assert 1.0 - model.score(test.X, test.y, groups=test.groups) <= 0.08
