import inspect
import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file
from sklearn.base import clone

from e2elab.base import ModelState
from e2elab.errors import DataError, ParameterError, RunFolderError
from e2elab.nn import read_metrics
from e2elab.translation.end_to_end import TransformerTranslator

SOURCES = ["ein hund läuft", "eine katze schläft", "zwei männer essen", "ein kind spielt", "die frau liest",
           "ein mann kocht", "drei vögel singen", "das auto fährt"]
TARGETS = ["a dog runs", "a cat sleeps", "two men eat", "a child plays", "the woman reads", "a man cooks",
           "three birds sing", "the car drives"]
TINY = dict(vocab_size=100, d_model=32, heads=2, encoder_layers=1, decoder_layers=1, d_ff=64, dropout=0.0,
            max_tokens=64, lr=1e-2, label_smoothing=0.0, validation_fraction=0.0, progress=False, device="cpu")


@pytest.fixture(scope="module")
def fitted():
    """The tiny Transformer trained until it knows the eight pairs by heart (a few seconds)."""
    return TransformerTranslator(**TINY, epochs=60, weight_average=None).fit(SOURCES, TARGETS)


def test_overfits_a_few_pairs_to_exact_translations(fitted):
    assert fitted.predict(SOURCES) == TARGETS
    assert fitted.history_[-1]["train_loss"] < fitted.history_[0]["train_loss"] / 10


def test_greedy_and_beam_agree_on_a_model_that_is_sure(fitted):
    greedy = clone(fitted).set_params(beam_size=1)
    greedy.subwords_, greedy.network_, greedy.languages_ = fitted.subwords_, fitted.network_, fitted.languages_
    assert greedy.predict(SOURCES) == TARGETS


def test_score_is_bleu_against_the_references(fitted):
    sentences = ["ein hund läuft und eine katze schläft", "zwei männer essen und ein kind spielt"]
    references = ["a dog runs and a cat sleeps", "two men eat and a child plays"]
    assert 0.0 <= fitted.score(sentences, references) < 1.0  # BLEU / 100
    assert fitted.score(SOURCES[:1] * 2, ["a dog runs fast today"] * 2) == 0.0


def test_state_round_trip_gives_identical_translations(fitted, tmp_path):
    state = fitted._get_state()
    save_file(state.arrays, str(tmp_path / "weights.safetensors"))
    (tmp_path / "meta.json").write_text(json.dumps(state.meta))
    loaded_state = ModelState(meta=json.loads((tmp_path / "meta.json").read_text()),
                              arrays=load_file(str(tmp_path / "weights.safetensors")))
    loaded = TransformerTranslator._from_state(fitted.get_params(), loaded_state)
    assert loaded.predict(SOURCES) == fitted.predict(SOURCES)
    # The tied embedding is stored once and tied again on loading.
    assert "network/source_embedding.weight" not in state.arrays
    assert loaded.network_.source_embedding is loaded.network_.target_embedding
    original, reloaded = fitted.translate(SOURCES[:2]), loaded.translate(SOURCES[:2])
    assert [h.score for h in original[0]] == pytest.approx([h.score for h in reloaded[0]], abs=1e-6)


def test_separate_vocabularies_round_trip(tmp_path):
    model = TransformerTranslator(**{**TINY, "joint_vocabulary": False}, epochs=2, weight_average=0.9)
    model.fit(SOURCES, TARGETS)
    assert not model.subwords_.joint
    assert model.network_.source_embedding is not model.network_.target_embedding
    loaded = TransformerTranslator._from_state(model.get_params(), model._get_state())
    assert loaded.predict(SOURCES[:3]) == model.predict(SOURCES[:3])


def test_stage_outputs_follow_the_stages(fitted):
    outputs = fitted.stage_outputs(SOURCES[0])
    assert list(outputs) == [stage.name for stage in fitted.stages]
    assert outputs["subwords"][-1] == "</s>"
    source_length = len(outputs["subwords"])
    assert outputs["encoder"]["states"].shape == (source_length, 32)
    attention = outputs["attention"]
    assert attention["weights"].shape == (len(attention["target"]), source_length)
    np.testing.assert_allclose(attention["weights"].sum(1), 1.0, rtol=1e-5)
    assert outputs["beam"][0]["text"] == outputs["output"] == TARGETS[0]
    assert [h["score"] for h in outputs["beam"]] == sorted((h["score"] for h in outputs["beam"]), reverse=True)


def test_attributions_are_complete_integrated_gradients(fitted):
    explained = fitted.attributions(SOURCES[1], steps=64)
    assert explained.matrix.shape == (len(explained.target_tokens), len(explained.source_tokens))
    assert explained.target_tokens[-1] == "</s>" and explained.source_tokens[-1] == "</s>"
    # Completeness: each row adds up to log p(token) at the input minus at the baseline.
    assert np.abs(explained.convergence_delta).max() < 0.05 * np.abs(explained.matrix.sum(1)).max()
    assert np.abs(explained.matrix).sum() > 0


def test_clone_keeps_parameters_and_drops_learned_state(fitted):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "network_")


def test_a_checkpoint_folder_resumes_only_its_own_run(tmp_path):
    params = dict(TINY, epochs=2, weight_average=0.9, checkpoint_dir=str(tmp_path))
    first = TransformerTranslator(**params).fit(SOURCES, TARGETS)
    assert len(read_metrics(tmp_path)) == 2
    # Decoding settings do not make another run: every epoch is found done and nothing retrains.
    resumed = TransformerTranslator(**{**params, "beam_size": 2}).fit(SOURCES, TARGETS)
    for a, b in zip(first.network_.state_dict().values(), resumed.network_.state_dict().values()):
        torch.testing.assert_close(a, b)
    assert resumed.history_ == first.history_
    with pytest.raises(RunFolderError, match="another run"):
        TransformerTranslator(**{**params, "label_smoothing": 0.2}).fit(SOURCES, TARGETS)
    with pytest.raises(RunFolderError, match="another run"):
        TransformerTranslator(**params).fit(SOURCES, TARGETS[::-1])


def test_validation_data_drives_early_stopping():
    model = TransformerTranslator(**TINY, epochs=3, weight_average=0.9, patience=1)
    model.fit(SOURCES[:6], TARGETS[:6], validation_data=(SOURCES[6:], TARGETS[6:]))
    assert all("val_loss" in row for row in model.history_)
    assert 1 <= model.best_epoch_ <= len(model.history_)


@pytest.mark.parametrize("X, y, match", [
    (["ein hund", 3], ["a dog", "three"], r"training item 1: source is a int"),
    (["ein hund", "  "], ["a dog", "nothing"], r"training item 1: source is an empty"),
    (["ein hund"], ["a dog", "a cat"], "1 training source sentences but 2"),
    ("ein hund", ["a dog"], "single string"),
    ([], [], "no usable training sentence pairs"),
])
def test_bad_input_names_the_item(X, y, match):
    with pytest.raises(DataError, match=match):
        TransformerTranslator(**TINY, epochs=1).fit(X, y)


@pytest.mark.parametrize("name, value", [("vocab_size", 4), ("epochs", True), ("lr", 0), ("heads", 0),
                                         ("dropout", 1.0), ("weight_average", 1.0), ("beam_size", 0),
                                         ("joint_vocabulary", "yes"), ("device", "gpu"), ("max_length_b", 2.5),
                                         ("validation_fraction", 1.0), ("patience", 0), ("seed", -1)])
def test_bad_parameter_fails_fit_before_any_data_is_read(name, value):
    with pytest.raises(ParameterError, match=f"'{name}' parameter of the translation end-to-end pipeline"):
        TransformerTranslator(**{name: value}).fit([None], [None])  # data this bad would be a DataError


def test_width_must_split_into_heads():
    with pytest.raises(ParameterError, match="'d_model' parameter .* multiple of heads"):
        TransformerTranslator(d_model=30, heads=4).fit(SOURCES, TARGETS)


def test_defaults_are_valid_and_every_parameter_is_constrained():
    TransformerTranslator()._validate_params()
    names = set(inspect.signature(TransformerTranslator.__init__).parameters) - {"self"}
    assert names == set(TransformerTranslator._parameter_constraints)


def test_characters_unseen_in_training_are_translated_not_refused(fitted):
    (translation,) = fitted.predict(["ein hund 犬 läuft 🐕"])
    assert isinstance(translation, str) and translation  # unknown pieces become <unk>, the rest is translated


def test_an_over_long_source_is_refused_before_any_decoding(fitted):
    from e2elab.translation.end_to_end import MAX_SOURCE_TOKENS

    with pytest.raises(DataError, match=r"X\[1\]: is too long to translate"):
        fitted.predict(["ein hund läuft", "hund " * MAX_SOURCE_TOKENS])


def test_the_language_pair_given_to_fit_is_saved_and_shown(tmp_path):
    from e2elab.io import load, save

    model = TransformerTranslator(**TINY, epochs=1).fit(SOURCES, TARGETS, languages=("de", "en"))
    loaded = load(save(model, tmp_path / "model"))
    assert loaded.languages_ == ("de", "en")
    assert loaded.predict_details(SOURCES[:1])[0]["languages"] == ["de", "en"]
    assert TransformerTranslator(**TINY, epochs=1).fit(SOURCES, TARGETS).languages_ is None
    with pytest.raises(ParameterError, match="pair of language codes"):
        TransformerTranslator(**TINY, epochs=1).fit(SOURCES, TARGETS, languages="de-en")


def _pairs(n):
    from e2elab.translation.seq2seq_training import PairBatches

    rng = np.random.default_rng(0)
    return PairBatches([list(rng.integers(5, 50, size=12)) for _ in range(n)],
                       [list(rng.integers(5, 50, size=14)) for _ in range(n)])


def test_schedule_chosen_from_the_data_gives_a_small_corpus_smaller_batches_then_more_epochs():
    from e2elab.translation.end_to_end import DEFAULT_EPOCHS, DEFAULT_MIN_UPDATES, MIN_BATCH_TOKENS

    small, large = _pairs(1000), _pairs(40000)
    tokens, epochs = TransformerTranslator(seed=0)._schedule(small)
    assert tokens == MIN_BATCH_TOKENS
    assert epochs > DEFAULT_EPOCHS
    assert epochs * len(small.token_batches(tokens, 0)(0)) >= DEFAULT_MIN_UPDATES
    assert TransformerTranslator(seed=0)._schedule(large) == (2048, DEFAULT_EPOCHS)  # past the floor already


def test_an_explicit_epoch_count_is_kept_unless_a_floor_is_asked_for():
    from e2elab.translation.end_to_end import MIN_BATCH_TOKENS

    small = _pairs(1000)
    assert TransformerTranslator(epochs=3)._schedule(small) == (2048, 3)
    tokens, epochs = TransformerTranslator(epochs=3, min_updates=300)._schedule(small)
    assert MIN_BATCH_TOKENS <= tokens < 2048 and epochs * len(small.token_batches(tokens, 0)(0)) >= 300
