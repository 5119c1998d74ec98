"""Every registered pipeline keeps one contract (``e2elab/base.py``); a pipeline added later is
checked as soon as it is registered, once its task has tiny data in TINY_DATA and the pipeline
fast parameters in FAST_PARAMS below.

Each pipeline goes through ``clone``, ``get_params``/``set_params``, ``fit`` on tiny raw items,
``predict``, ``score``, ``stage_outputs``, ``e2elab.save``/``e2elab.load`` (identical predictions),
refusal of bad parameter values before any data is read, the not-fitted error, and ``on_error``
("raise" names the bad item; "skip" counts it in ``n_skipped_`` and lists it in ``skipped_``).

scikit-learn's ``check_estimator`` checks, one by one (sklearn.utils.estimator_checks):

Run as they are (they need no data, or fail before data is read):
    check_estimator_cloneable, check_estimator_repr, check_no_attributes_set_in_init,
    check_get_params_invariance, check_set_params, check_parameters_default_constructible,
    check_do_not_raise_errors_in_init_or_set_params, check_mixin_order,
    check_estimator_tags_renamed, check_valid_tag_types, check_estimators_unfitted.

Run here with raw items instead of the numeric 2-D X that scikit-learn's versions make:
    check_dont_overwrite_parameters and check_estimators_overwrite_params (fit changes no
    parameter and adds only attributes ending in "_" or starting with "_"),
    check_estimators_fit_returns_self, check_fit_check_is_fitted, check_fit_score_takes_y,
    check_fit_idempotent (a second fit gives the same predictions), and check_param_validation
    (test_bad_parameter_values_are_refused: the same values, but e2elab raises its own
    ParameterError, a ValueError, where scikit-learn expects its private InvalidParameterError).

Skipped, because they feed numeric 2-D arrays (or sparse, complex, object, NaN, read-only or
1-D variants of them) where an item is a clip or an image: check_array_api_input,
check_classifier_data_not_an_array, check_classifiers_classes, check_classifiers_one_label,
check_classifiers_one_label_sample_weights, check_classifiers_regression_target,
check_classifiers_train, check_complex_data, check_decision_proba_consistency,
check_dict_unchanged, check_dtype_object, check_estimator_sparse_array,
check_estimator_sparse_matrix, check_estimator_sparse_tag, check_estimators_dtypes,
check_estimators_empty_data_messages, check_estimators_nan_inf, check_f_contiguous_array_estimator,
check_fit1d, check_fit2d_1feature, check_fit2d_1sample, check_fit2d_predict1d,
check_positive_only_tag_during_fit, check_readonly_memmap_input, check_requires_y_none,
check_supervised_y_2d, check_supervised_y_no_nan, check_methods_sample_order_invariance,
check_methods_subset_invariance (besides: speech batches clips by length, so a clip's padding,
and with it the last bits of its posteriors, depends on its batch).
Skipped because they do not apply: check_n_features_in and check_n_features_in_after_fitting
(raw items have no fixed number of features, so there is no ``n_features_in_``),
check_estimators_partial_fit_n_features (no ``partial_fit``), check_non_transformer_estimators_n_iter
(no ``max_iter``), check_pipeline_consistency (needs numeric X; same seed, same model is tested in
each pipeline's own tests), and check_estimators_pickle: e2elab never pickles, and a model is
saved with ``e2elab.save``, which this module tests instead.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks
from sklearn.utils._param_validation import generate_invalid_param_val, make_constraint

import e2elab
from e2elab import base
from e2elab.errors import DataError, ParameterError
from e2elab.image.backbones import Backbone
from e2elab.registry import available_pipelines, get_pipeline_class

# ---------------------------------------------------------------------------- tiny data per task

RATE = 16_000
TONES = {"g": 450.0, "o": 1300.0, "n": 2600.0}
WORDS = ["go", "no", "on", "go no", "no on", "on go", "no", "go on"]


def _tone_clip(text: str, rng: np.random.Generator) -> np.ndarray:
    """A clip that says `text` in tones: one burst per letter, a pause per space."""
    pieces = [np.zeros(int(0.05 * RATE))]
    for letter in text:
        n = int(rng.uniform(0.09, 0.13) * RATE)
        t = np.arange(n) / RATE
        pieces.append(np.zeros(n) if letter == " " else 0.3 * np.sin(2 * np.pi * TONES[letter] * t) * np.hanning(n))
    pieces.append(np.zeros(int(0.05 * RATE)))
    wave = np.concatenate(pieces)
    return (wave + rng.normal(scale=0.003, size=wave.size)).astype(np.float32)


def _speech():
    rng = np.random.default_rng(0)
    return [_tone_clip(text, rng) for text in WORDS], list(WORDS), np.zeros(0, np.float32)


def _image():
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = np.flatnonzero(digits.target < 3)[:18]  # 8x8 digits 0, 1, 2: six images each
    images = [(digits.images[i] * 15).astype(np.uint8) for i in keep]
    return images, digits.target[keep].astype(str), np.zeros((0, 0), np.uint8)


def _translation():
    german = ["der Hund läuft", "die Katze schläft", "der Mann singt", "die Frau läuft", "der Hund schläft",
              "die Katze singt", "der Mann läuft", "die Frau schläft"]
    english = ["the dog runs", "the cat sleeps", "the man sings", "the woman runs", "the dog sleeps",
               "the cat sings", "the man runs", "the woman sleeps"]
    return german, english, ""


def _detection():
    from e2elab.detection.synthetic import face_photos

    photos, boxes = face_photos(6, seed=0, faces=1)  # 96 x 96
    return photos, boxes, np.zeros((0, 0), np.uint8)


# task -> () -> (raw items, targets, one unusable item)
TINY_DATA = {"speech": _speech, "image": _image, "translation": _translation, "detection": _detection}

# Parameters that make each pipeline fit the tiny data in about a second on one core.
FAST_PARAMS = {
    ("speech", "end-to-end"): dict(n_filters=8, width=8, depth=1, epochs=1, batch_size=4, device="cpu",
                                   progress=False),
    ("speech", "traditional"): dict(lexicon={"go": ["G", "OW"], "no": ["N", "OW"], "on": ["AA", "N"]},
                                    n_states=1, n_mixtures=1, flat_passes=1, passes_per_split=1, lm="loop",
                                    cmvn="utterance", progress=False),
    ("image", "end-to-end"): dict(backbone=Backbone(width=4), epochs=1, batch_size=8, device="cpu", progress=False),
    ("image", "traditional"): dict(),
    ("detection", "end-to-end"): dict(width=4, neck_channels=8, input_size=96, train_size=64, epochs=1, batch_size=6,
                                      device="cpu", progress=False),
    ("detection", "traditional"): dict(window=24, mining_rounds=1, negatives_per_image=4, progress=False),
    ("translation", "end-to-end"): dict(vocab_size=40, d_model=8, heads=2, encoder_layers=1, decoder_layers=1, d_ff=16,
                                        epochs=1, max_tokens=64, beam_size=2, amp=False, device="cpu", progress=False),
    ("translation", "traditional"): dict(model1_iterations=1, hmm_iterations=1, lm_order=2, tune=False, progress=False),
}

# Pipelines of the package, not ones a test registers for itself.
PIPELINES = [key for key in available_pipelines() if get_pipeline_class(*key).__module__.startswith("e2elab.")]


def _id(key) -> str:
    return "/".join(key)


def _data(task: str):
    if task not in TINY_DATA:
        pytest.fail(f"tests/test_contract.py has no tiny data for task {task!r}: add a maker to TINY_DATA")
    return TINY_DATA[task]()


def _fast(key, **params):
    if key not in FAST_PARAMS:
        pytest.fail(f"tests/test_contract.py has no fast parameters for {_id(key)}: add them to FAST_PARAMS")
    return get_pipeline_class(*key)(**{**FAST_PARAMS[key], **params})


def _same_predictions(a, b) -> bool:
    """Equal labels or transcripts, or (detection) equal boxes and scores per item."""
    def plain(predictions):
        return [{k: np.asarray(v).tolist() for k, v in p.items()} if isinstance(p, dict) else np.asarray(p).tolist()
                for p in predictions]

    return plain(a) == plain(b)


@pytest.fixture(scope="module", params=PIPELINES, ids=_id)
def fitted(request):
    """The model fitted on tiny data, what fit returned, its attributes before fit, X and y."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # networks this small gain nothing from threads
    key = request.param
    X, y, _ = _data(key[0])
    model = _fast(key)
    before = dict(vars(model))
    returned = model.fit(X, y)
    torch.set_num_threads(threads)
    return types.SimpleNamespace(model=model, returned=returned, before=before, X=X, y=y)


# ---------------------------------------------------------------------------- scikit-learn's checks

DATA_FREE_CHECKS = [
    "check_estimator_cloneable", "check_estimator_repr", "check_no_attributes_set_in_init",
    "check_get_params_invariance", "check_set_params", "check_parameters_default_constructible",
    "check_do_not_raise_errors_in_init_or_set_params", "check_mixin_order", "check_estimator_tags_renamed",
    "check_valid_tag_types", "check_estimators_unfitted",
]


@pytest.mark.parametrize("check", DATA_FREE_CHECKS)
@pytest.mark.parametrize("key", PIPELINES, ids=_id)
def test_scikit_learn_check(key, check):
    estimator = get_pipeline_class(*key)()
    getattr(estimator_checks, check)(type(estimator).__name__, estimator)


# ---------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("key", PIPELINES, ids=_id)
def test_clone_and_parameter_round_trip(key):
    model = _fast(key, on_error="skip")
    params = model.get_params(deep=False)
    copy = clone(model)
    assert copy is not model and copy.get_params(deep=False) == params
    other = get_pipeline_class(*key)()
    assert other.set_params(**params) is other and other.get_params(deep=False) == params
    assert clone(other.set_params(on_error="raise")).on_error == "raise"


@pytest.mark.parametrize("key", PIPELINES, ids=_id)
def test_every_parameter_is_declared_and_the_shared_ones_agree(key):
    cls = get_pipeline_class(*key)
    params = cls().get_params(deep=False)
    assert set(cls._parameter_constraints) == set(params)
    assert "on_error" in params
    assert "verbose" not in params  # one switch for bars and messages: progress
    assert params.get("progress") is None  # the default shows bars where someone watches (progress_wanted)
    for allowed in ("raise", "skip"):
        cls(on_error=allowed)._validate_params()


def _bad_values(constraints):
    """A value of no allowed type, then for each constraint one of its type that it refuses."""
    yield types.SimpleNamespace()
    for constraint in constraints:
        try:
            yield generate_invalid_param_val(make_constraint(constraint))
        except NotImplementedError:  # a bare type, or an unbounded number: no invalid value of that type
            continue


@pytest.mark.parametrize("key", PIPELINES, ids=_id)
def test_bad_parameter_values_are_refused(key):
    cls = get_pipeline_class(*key)
    for name, constraints in cls._parameter_constraints.items():
        for value in _bad_values(constraints):
            model = cls().set_params(**{name: value})
            with pytest.raises(ParameterError, match=f"'{name}' parameter of the {key[0]} {key[1]} pipeline"):
                model._validate_params()


@pytest.mark.parametrize("key", PIPELINES, ids=_id)
def test_a_bad_parameter_fails_fit_before_any_data_is_read(key):
    with pytest.raises(ParameterError, match="'on_error' parameter"):
        _fast(key, on_error="ignore").fit(["no such file"] * 4, ["a", "a", "b", "b"])


# ---------------------------------------------------------------------------- fit, predict, save, load


@pytest.mark.parametrize("key", PIPELINES, ids=_id)
def test_not_fitted_before_fit(key, tmp_path):
    X, _, _ = _data(key[0])
    model = _fast(key)
    for method in ("predict", "predict_proba", "decision_function", "predict_details"):
        if hasattr(model, method):
            with pytest.raises(NotFittedError, match=f"{type(model).__name__} .*not fitted yet"):
                getattr(model, method)(X[:2])
    with pytest.raises(NotFittedError):
        model.stage_outputs(X[0])
    with pytest.raises(NotFittedError):
        e2elab.save(model, tmp_path / "model")


def test_fit_returns_self_and_changes_no_parameter(fitted):
    model, after = fitted.model, vars(fitted.model)
    assert fitted.returned is model
    for name, value in fitted.before.items():
        assert after[name] is value, f"fit changed parameter {name!r}"
    added = [name for name in after if name not in fitted.before and not (name.endswith("_") or name.startswith("_"))]
    assert not added, f"fit added public attributes {added}; learned ones end in '_'"
    assert model.n_skipped_ == len(model.skipped_) == 0


def test_predict_score_and_stage_outputs(fitted):
    model, X, y = fitted.model, fitted.X, fitted.y
    predictions = model.predict(X)
    assert len(predictions) == len(X)
    assert np.isfinite(model.score(X, y)) and model.score(X, y) <= 1.0
    assert not clone(model).__dict__.keys() - model.get_params(deep=False).keys()  # a clone is unfitted
    outputs = model.stage_outputs(X[0])
    assert set(outputs) == {stage.name for stage in model.stages}
    assert all(stage.kind in base.STAGE_KINDS for stage in model.stages)


def test_save_and_load_predict_the_same(fitted, tmp_path):
    model, X = fitted.model, fitted.X
    e2elab.save(model, tmp_path / "model")
    loaded = e2elab.load(tmp_path / "model")
    assert type(loaded) is type(model)
    assert loaded.get_params(deep=False).keys() == model.get_params(deep=False).keys()
    assert _same_predictions(loaded.predict(X), model.predict(X))
    assert loaded.skipped_ == model.skipped_ and loaded.n_skipped_ == model.n_skipped_


def test_a_second_fit_gives_the_same_model(fitted, one_thread):
    model, X, y = fitted.model, fitted.X, fitted.y
    again = clone(model).fit(X, y)
    assert _same_predictions(again.predict(X), model.predict(X))


@pytest.mark.parametrize("key", PIPELINES, ids=_id)
def test_on_error_raises_naming_the_item_or_skips_and_counts_it(key, one_thread):
    X, y, bad = _data(key[0])
    X, y = list(X) + [bad], list(y) + [y[0]]
    with pytest.raises(DataError, match=f"item {len(X) - 1}"):
        _fast(key).fit(X, y)
    with pytest.warns(UserWarning, match="skipped 1 "):
        model = _fast(key, on_error="skip").fit(X, y)
    assert model.n_skipped_ == 1 and len(model.skipped_) == 1
    item, reason = model.skipped_[0]
    assert f"item {len(X) - 1}" in item and reason


# ---------------------------------------------------------------------------- the shared base


def test_progress_switch(monkeypatch):
    """True and False force bars on and off; None shows them on a terminal and in Jupyter, whose
    stderr is not a terminal."""
    monkeypatch.setattr(sys, "stderr", types.SimpleNamespace(isatty=lambda: False, write=lambda s: None))
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert base.progress_wanted(True) and not base.progress_wanted(False)
    assert not base.progress_wanted(None)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert base.progress_wanted(None) and not base.progress_wanted(False)

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    pytest.importorskip("ipykernel")
    import IPython
    from ipykernel.zmqshell import ZMQInteractiveShell

    monkeypatch.setattr(IPython, "get_ipython", lambda: object.__new__(ZMQInteractiveShell))
    assert base.progress_wanted(None) and not base.progress_wanted(False)
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)  # IPython in a terminal: stderr decides
    assert not base.progress_wanted(None)


@pytest.mark.parametrize("key", [key for key in PIPELINES if "progress" in get_pipeline_class(*key)().get_params()],
                         ids=_id)
def test_every_pipeline_follows_the_progress_switch(key, monkeypatch):
    monkeypatch.setattr(base, "progress_wanted", lambda progress: f"asked about {progress}")
    assert get_pipeline_class(*key)(progress=None)._show_progress() == "asked about None"
    monkeypatch.undo()
    assert get_pipeline_class(*key)(progress=True)._show_progress() is True


class _Classifier(base.PipelineMixin):
    task, kind = "image", "test"

    def __init__(self, on_error="raise"):
        self.on_error = on_error


def test_single_item_classes_are_refused_or_left_out_with_a_warning():
    y = np.array(["a", "a", "b", "lonely", "b"])
    with pytest.raises(DataError, match="class 'lonely' has a single image"):
        _Classifier()._drop_small_classes(y, [], "image")
    with pytest.warns(UserWarning, match="left out class 'lonely'"):
        keep, skipped = _Classifier(on_error="skip")._drop_small_classes(y, [("x.png", "unreadable")], "image")
    assert keep.tolist() == [0, 1, 2, 4]
    assert skipped == [("x.png", "unreadable"), ("class 'lonely'", "a single image")]
    with pytest.raises(DataError, match="at least two classes"):
        _Classifier(on_error="skip")._drop_small_classes(np.array(["a", "a", "b"]), [], "image")


def test_skips_are_recorded_in_one_form_and_warned_about_only_in_fit():
    model = _Classifier(on_error="skip")
    with pytest.warns(UserWarning, match=r"skipped 7 training image\(s\).*item 4: bad \.\.\.$"):
        model._record_skipped([(f"item {i}", "bad") for i in range(7)], "training image")
    assert model.n_skipped_ == 7 and model.skipped_[0] == ("item 0", "bad")
    model._record_skipped([["item 1", "bad"]])  # as a loaded model's JSON has it; no warning
    assert model.skipped_ == [("item 1", "bad")] and model.n_skipped_ == 1
