"""The phrase-based translator end to end: fit, translate, explain, save and load."""

import json
import time

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from sklearn.base import clone

from e2elab.base import ModelState
from e2elab.errors import DataError, ParameterError
from e2elab.translation.traditional import PhraseBasedTranslator

from .synthetic import corpus

TEST_SOURCES = ["Der alte Hund springt.", "Heute singt ein kleine Frau.", "Hier wartet der rote Vogel.",
                "Ein Junge schläft."]
TEST_TARGETS = ["The old dog jumps.", "Today a small woman sings.", "Here the red bird waits.", "A boy sleeps."]


@pytest.fixture(scope="module")
def translator():
    sources, targets = corpus(400, seed=1)
    dev_sources, dev_targets = corpus(30, seed=2)
    model = PhraseBasedTranslator(tune_sentences=20, tune_rounds=1, n_best=10, progress=False)
    return model.fit(sources, targets, validation_data=(dev_sources, dev_targets))


def test_translates_new_sentences_of_the_language(translator):
    assert translator.predict(TEST_SOURCES[:2]) == TEST_TARGETS[:2]
    # Sentences never seen in training; a few reordered verbs still go astray.
    sources, targets = corpus(40, seed=5)
    assert translator.score(sources, targets) > 0.8  # BLEU / 100
    assert translator.tuning_history_ and len(translator.weights_) == 8


def test_unknown_words_pass_through(translator):
    translation = translator.predict(["Der Hund wartet Zuhause."])[0]
    assert translation.startswith("The dog") and "Zuhause" in translation.split()


def test_stage_outputs_show_every_stage(translator):
    outputs = translator.stage_outputs(("Heute springt der Hund.", "Today the dog jumps."))
    assert list(outputs) == [stage.name for stage in translator.stages]
    assert outputs["tokens"] == ["heute", "springt", "der", "Hund", "."]  # true-cased
    links = set(outputs["alignment"]["links"])
    assert {(0, 0), (1, 3), (3, 2), (4, 4)} <= links  # heute-today, springt-jumps, Hund-dog, .-.
    phrases = outputs["phrases"]
    assert " ".join(w for p in phrases for w in p["target"]) == "today the dog jumps ."
    assert all(set(p["scores"]) == {"log p(t|s)", "log lex(t|s)", "log p(s|t)", "log lex(s|t)"} for p in phrases)
    assert outputs["language model"]["log_prob"] < 0 and len(outputs["language model"]["words"]) == 5
    assert outputs["output"] == "Today the dog jumps."


def test_explain_sentence_traces_each_word_to_its_phrase(translator):
    explanation = translator.explain_sentence("Ein kleine Katze singt.")
    assert [e["word"] for e in explanation] == ["a", "small", "cat", "sings", "."]
    by_word = {e["word"]: e for e in explanation}
    assert by_word["cat"]["source_words"] == ["Katze"] and by_word["cat"]["source_positions"] == [2]
    assert "Katze" in by_word["cat"]["phrase"]["source"] and by_word["cat"]["phrase"]["count"] > 0


def test_state_round_trip_through_json_and_safetensors(translator, tmp_path):
    state = translator._get_state()
    save_file(state.arrays, tmp_path / "weights.safetensors")
    (tmp_path / "meta.json").write_text(json.dumps({"params": translator.get_params(), "meta": state.meta}))
    saved = json.loads((tmp_path / "meta.json").read_text())
    loaded = PhraseBasedTranslator._from_state(saved["params"], ModelState(meta=saved["meta"],
                                                                           arrays=load_file(tmp_path / "weights.safetensors")))
    sentences = TEST_SOURCES + ["Jetzt läuft die Katze Zuhause.", "Eine Frau singt."]
    assert loaded.predict(sentences) == translator.predict(sentences)
    np.testing.assert_array_equal(loaded.weights_, translator.weights_)


def test_clone_and_bad_input():
    model = PhraseBasedTranslator(lm_order=2, seed=3)
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(DataError, match="3 training source sentences but 2 translations"):
        model.fit(["a", "b", "c"], ["x", "y"])
    with pytest.raises(DataError, match="training item 1: translation is an empty sentence"):
        model.fit(["a", "b"], ["x", " "])
    with pytest.raises(DataError, match="training item 0: source is a int"):
        model.fit([3], ["x"])
    with pytest.raises(DataError, match="input item 0: is an empty sentence"):
        PhraseBasedTranslator(tune=False, progress=False).fit(["a b", "b a"], ["x y", "y x"]).predict([" "])
    with pytest.raises(ParameterError, match="'lm_order' parameter of the translation traditional pipeline"):
        PhraseBasedTranslator(lm_order=0).fit(["a"], ["b"])


def test_tuning_holds_out_training_pairs_when_no_validation_is_given():
    sources, targets = corpus(100, seed=4)
    model = PhraseBasedTranslator(tune_sentences=10, tune_rounds=1, n_best=5, progress=False).fit(sources, targets)
    assert model.n_training_pairs_ == 90 and model.tuning_history_


@pytest.mark.slow
def test_multi30k_german_to_english(shared_data):
    """Train on Multi30k train, tune on val, score test_2016_flickr with sacreBLEU."""
    from e2elab.translation.corpus import read_multi30k

    data = read_multi30k("de", "en", folder=shared_data("multi30k"))
    train, val, test = data.subset("train"), data.subset("val"), data.subset("test_2016_flickr")
    start = time.perf_counter()
    model = PhraseBasedTranslator(progress=False).fit(train.sources, train.targets,
                                                      validation_data=(val.sources, val.targets))
    training_minutes = (time.perf_counter() - start) / 60
    start = time.perf_counter()
    score = model.score(test.sources, test.targets)
    print(json.dumps({"bleu": round(100 * score, 2), "training_minutes": round(training_minutes, 1),
                      "test_minutes": round((time.perf_counter() - start) / 60, 1),
                      "phrase_pairs": len(model.phrase_table_), "weights": model.weights_.round(3).tolist()}))
    assert score >= 0.20


def test_the_language_pair_given_to_fit_is_saved_and_shown(tmp_path):
    from e2elab.io import load, save

    sources, targets = corpus(40, seed=3)
    model = PhraseBasedTranslator(tune=False, model1_iterations=1, hmm_iterations=1, progress=False)
    loaded = load(save(model.fit(sources, targets, languages=["de", "en"]), tmp_path / "model"))
    assert loaded.languages_ == ("de", "en")
    assert loaded.predict_details(["Der Hund läuft."])[0]["languages"] == ["de", "en"]


def test_characters_unseen_in_training_pass_through(translator):
    (translation,) = translator.predict(["Der Hund 犬 springt 🐕."])
    assert "犬" in translation and "🐕" in translation and "dog" in translation
