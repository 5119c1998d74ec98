"""Every pipeline parameter is checked for type and range before fit reads any data."""

import dataclasses
import inspect
import json

import numpy as np
import pytest
import torch
from sklearn.base import clone

import e2elab
from e2elab.errors import ParameterError
from e2elab.image.backbones import Backbone
from e2elab.image.end_to_end import EndToEndImageClassifier
from e2elab.image.transforms import ImageAugmentation
from e2elab.nn.fine_tuning import FineTuning
from e2elab.nn.validation import Validation
from e2elab.params import DEVICE, Choice, Int, IntOptions, Real, flat_params, fold_flat_params, validate_constraints
from e2elab.speech.augment import SpeechAugmentation
from e2elab.speech.ctc_decoding import CTCDecoding

PIPELINES = [("speech", "end-to-end"), ("speech", "traditional"), ("image", "end-to-end"), ("image", "traditional")]
MISSING = {"speech": ["no/such/clip.wav", "no/such/other.wav"], "image": ["no/such/image.png", "no/such/other.png"]}

BAD_VALUES = {
    ("speech", "end-to-end"): [("epochs", "abc"), ("epochs", 1.5), ("epochs", True), ("lr", "abc"), ("lr", 0),
                               ("batch_size", 0), ("validation", 1.5), ("validation", 1.0),
                               ("device", "gpu"), ("device", "cuda:x"), ("decoder", "beamsearch"), ("on_error", "ignore"),
                               ("max_seconds", 0), ("dropout", 1.0), ("words", "one two"), ("augment", "heavy"),
                               ("augment", {"speed": 0.1}), ("seed", -1), ("progress", "yes"), ("init_from", 5),
                               ("validation", {"fraction": 0.1, "patience": 2})],
    ("speech", "traditional"): [("n_states", 0), ("n_mixtures", True), ("cmvn", "global"), ("var_floor", 0),
                                ("beam", 0), ("n_jobs", 0), ("on_error", "ignore"), ("max_seconds", -1.0),
                                ("lexicon", 5), ("sample_rate", "16k"), ("training", "em"), ("progress", "yes")],
    ("image", "end-to-end"): [("epochs", "abc"), ("epochs", True), ("lr", "abc"), ("batch_size", 0),
                              ("validation", 1.5), ("device", "gpu"), ("backbone", "vgg"), ("backbone", None), ("preset", "gpu"), ("augment", "heavy"),
                              ("augment", None), ("max_pixels", 0), ("input_size", 4), ("optimizer", "adam"),
                              ("progress", "yes")],
    ("image", "traditional"): [("codebook_size", 1), ("pyramid", (1, 0)), ("pyramid", ()), ("sizes", "16"),
                               ("descriptor", "siftt"), ("k", 0), ("C", 0), ("classifier", "forest"),
                               ("detector", "harris"), ("max_pixels", 0), ("encoding", "sparse"), ("selection", "pca")],
}


@pytest.mark.parametrize("task, kind, name, value",
                         [(task, kind, name, value) for (task, kind), rows in BAD_VALUES.items() for name, value in rows])
def test_bad_parameter_fails_fit_before_any_data_is_read(task, kind, name, value):
    model = e2elab.make_pipeline(task, kind, **{name: value})
    # The paths do not exist: were any data read first, a DataError would come instead.
    with pytest.raises(ParameterError, match=f"'{name}' parameter of the {task} {kind} pipeline") as caught:
        model.fit(MISSING[task], ["a", "b"])
    message = str(caught.value)
    assert "\n" not in message and repr(value) in message and "must be" in message


@pytest.mark.parametrize("task, kind", PIPELINES)
def test_defaults_are_valid_and_every_parameter_is_constrained(task, kind):
    model = e2elab.make_pipeline(task, kind)
    model._validate_params()
    clone(model)._validate_params()
    names = set(inspect.signature(type(model).__init__).parameters) - {"self"}
    assert names == set(type(model)._parameter_constraints)


# ---- the four pipelines' parameters: what users need, not every ablation ----------------------

END_TO_END_LIMIT = 25  # parameters of an end-to-end pipeline; policies and settings are objects


@pytest.mark.parametrize("task", ["speech", "image"])
def test_end_to_end_pipelines_keep_to_their_parameter_budget(task):
    names = set(inspect.signature(type(e2elab.make_pipeline(task, "end-to-end")).__init__).parameters) - {"self"}
    assert len(names) <= END_TO_END_LIMIT, sorted(names)
    assert "progress" in names and "verbose" not in names and "seed" in names


@pytest.mark.parametrize("task, kind", PIPELINES)
def test_every_parameter_is_documented(task, kind):
    """Each constructor parameter is named in the class docstring (numpydoc's `name : type` for
    the end-to-end pipelines, so that `help()` and the API docs list them)."""
    cls = type(e2elab.make_pipeline(task, kind))
    names = set(inspect.signature(cls.__init__).parameters) - {"self"}
    doc = inspect.getdoc(cls)
    for name in names:
        assert name in doc, name
    if kind == "end-to-end":
        assert "Parameters\n----------" in doc
        documented = {part.strip() for line in doc.splitlines() if " : " in line and not line.startswith(" ")
                      for part in line.split(" : ")[0].split(",")}
        assert names == documented


@pytest.mark.parametrize("policy", [SpeechAugmentation(noise_snr_db=20.0, time_masks=0), CTCDecoding("beam", beam_width=4),
                                    ImageAugmentation.preset("photo"),
                                    dataclasses.replace(ImageAugmentation.preset("glyph"), rotate=15.0),
                                    FineTuning("models/base", freeze_epochs=2, lower_lr=0.1), Validation(0.2, patience=3),
                                    Backbone("mobilenet_v2", dropout=0.2, weights="w.safetensors")])
def test_policies_are_immutable_values_that_clone_and_serialise(policy):
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.flip = True
    assert type(policy).from_dict(json.loads(json.dumps(policy.to_dict()))) == policy
    assert dataclasses.replace(policy) == policy and dataclasses.replace(policy) is not policy


def test_policy_parameters_survive_clone_and_set_params():
    model = e2elab.make_pipeline("speech", "end-to-end", augment=SpeechAugmentation(gain_db=None),
                                 decoder=CTCDecoding(lm_weight=1.0))
    copy = clone(model)
    assert copy.augment == SpeechAugmentation(gain_db=None) and copy.decoder == CTCDecoding(lm_weight=1.0)
    copy.set_params(augment=False, decoder="greedy")._validate_params()
    image = clone(e2elab.make_pipeline("image", "end-to-end", augment=ImageAugmentation(flip=True)))
    assert image.augment == ImageAugmentation(flip=True)
    image._validate_params()


REQUIRED_FIELDS = {FineTuning: {"source": "models/base"}, Validation: {"fraction": 0.1}}


@pytest.mark.parametrize("make, field, value", [
    (SpeechAugmentation, "speed", 1.5), (SpeechAugmentation, "time_masks", -1), (CTCDecoding, "method", "viterbi"),
    (CTCDecoding, "beam_width", 0), (ImageAugmentation, "mix", "blend"), (ImageAugmentation, "scale", (1.0, 0.5)),
    (ImageAugmentation, "padding_mode", "wrap"), (FineTuning, "freeze_epochs", -1), (FineTuning, "source", 5),
    (Validation, "patience", 0), (Validation, "fraction", 1.0), (Backbone, "name", "vgg"), (Backbone, "width", 0),
])
def test_policies_refuse_bad_fields_naming_them(make, field, value):
    with pytest.raises(ParameterError, match=f"'{field}' parameter of {make.__name__}"):
        make(**{**REQUIRED_FIELDS.get(make, {}), field: value})


def test_image_presets_are_not_editable():
    from e2elab.image.transforms import PRESETS

    with pytest.raises(TypeError):
        PRESETS["photo"] = ImageAugmentation()
    with pytest.raises(ParameterError, match="no image augmentation preset 'heavy'"):
        ImageAugmentation.preset("heavy")


def test_chi_squared_kernel_needs_histograms():
    model = e2elab.make_pipeline("image", "traditional", classifier="chi2", encoding="vlad")
    with pytest.raises(ParameterError, match="'classifier' .* chi-squared kernel needs histograms"):
        model.fit(MISSING["image"], ["a", "b"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("task", ["speech", "image"])
def test_cuda_asked_for_without_cuda_is_refused_before_training(task):
    model = e2elab.make_pipeline(task, "end-to-end", device="cuda")
    with pytest.raises(ParameterError, match="'cuda', but CUDA is not available"):
        model.fit(MISSING[task], ["a", "b"])


def test_numbers_refuse_bools_and_non_finite_values():
    constraints = {"count": [Int(1)], "rate": [Real(0, closed="neither")], "side": [IntOptions({1, 3})]}
    validate_constraints(constraints, {"count": np.int64(3), "rate": 1, "side": 3}, "test")
    for params in ({"count": True}, {"rate": float("inf")}, {"rate": float("nan")}, {"side": True}, {"rate": False}):
        with pytest.raises(ParameterError, match=f"'{next(iter(params))}' parameter of test"):
            validate_constraints(constraints, params, "test")


def test_messages_list_choices_in_order_and_say_the_range():
    assert str(Choice("raise", "skip")) == "one of 'raise', 'skip'"
    assert str(Int(1)) == "an int >= 1" and str(Int(None, -1)) == "an int <= -1"
    assert str(Real(0, 1, closed="left")) == "a number in [0, 1)"
    assert DEVICE.is_satisfied_by("cuda:1") and not DEVICE.is_satisfied_by("cuda:")


@pytest.mark.parametrize("task, params", [
    ("speech", dict(n_filters=8, width=8, depth=1, epochs=1, batch_size=4, device="cpu", progress=False,
                    augment=SpeechAugmentation(speed=0.05, eq_db=None), decoder=CTCDecoding("beam", beam_width=4),
                    validation=Validation(0.2, patience=2))),
    ("image", dict(backbone=Backbone(width=4, dropout=0.1), epochs=1, batch_size=8, device="cpu", progress=False,
                   validation=0, augment=dataclasses.replace(ImageAugmentation.preset("glyph"), rotate=5.0))),
])
def test_policy_parameters_are_saved_as_json_and_loaded_as_objects(task, params, tmp_path):
    rng = np.random.default_rng(0)
    if task == "speech":  # half-second noise bursts: the network need learn nothing to be saved
        X, y = [rng.normal(scale=0.1, size=8000).astype(np.float32) for _ in range(4)], ["a", "b", "a b", "b a"]
    else:
        X, y = [rng.integers(0, 256, (16, 16)).astype(np.uint8) for _ in range(8)], ["a", "b"] * 4
    model = e2elab.make_pipeline(task, "end-to-end", **params).fit(X, y)
    folder = e2elab.save(model, tmp_path / "model")
    saved = json.loads((folder / "e2elab.json").read_text())["params"]
    assert saved["augment"] == json.loads(json.dumps(params["augment"].to_dict()))
    loaded = e2elab.load(folder)
    assert loaded.get_params() == model.get_params()
    assert list(loaded.predict(X)) == list(model.predict(X))
    # A model saved before settings were grouped holds flat names (freeze_epochs, validation_fraction...).
    meta = json.loads((folder / "e2elab.json").read_text())
    meta["params"] = {name: saved.get(name, value) for name, value in flat_params(model).items()}
    (folder / "e2elab.json").write_text(json.dumps(meta))
    assert e2elab.load(folder).get_params() == model.get_params()


def test_the_cpu_preset_pools_after_the_stem_and_trains_with_sgd(monkeypatch):
    import e2elab.nn

    optimizers, real_train = [], e2elab.nn.train
    monkeypatch.setattr(e2elab.nn, "train", lambda *a, **k: optimizers.append(a[3].optimizer) or real_train(*a, **k))
    rng = np.random.default_rng(0)
    X, y = [rng.integers(0, 256, (32, 32)).astype(np.uint8) for _ in range(6)], ["a", "b"] * 3
    fast = dict(epochs=1, batch_size=8, device="cpu", progress=False, validation=0)
    pooled = e2elab.make_pipeline("image", "end-to-end", preset="cpu", backbone=Backbone(width=4), **fast).fit(X, y)
    plain = e2elab.make_pipeline("image", "end-to-end", backbone=Backbone(width=4), **fast).fit(X, y)
    assert (pooled.depth_, plain.depth_) == (3, 4)  # 32 px: halved by the pooled stem, then 3 stages to 2 px
    assert optimizers == ["sgd", "adamw"]
    e2elab.make_pipeline("image", "end-to-end", preset="cpu", optimizer="adamw", backbone=Backbone(width=4), **fast).fit(X, y)
    assert optimizers[-1] == "adamw"  # an explicit optimizer wins over the preset's
    with pytest.raises(ParameterError, match="too small for depth 4 with preset 'cpu'"):
        e2elab.make_pipeline("image", "end-to-end", preset="cpu", input_size=16, backbone=Backbone(width=4, depth=4),
                             **fast).fit(X, y)


def test_flat_names_fold_into_the_settings_that_hold_them():
    fold = lambda **params: fold_flat_params(EndToEndImageClassifier, params)
    assert fold(init_from="m", freeze_epochs=2) == {"init_from": FineTuning("m", freeze_epochs=2)}
    assert fold(init_from="m", lower_lr=1.0) == {"init_from": "m"}  # the plainest value that says the same
    assert fold(validation_fraction=0.2) == {"validation": 0.2}
    assert fold(patience=3) == {"validation": Validation(0.1, patience=3)}  # on the pipeline's default fraction
    assert fold(backbone="mobilenet_v2", weights="w.pth", epochs=3) == {"backbone": Backbone("mobilenet_v2", weights="w.pth"),
                                                                       "epochs": 3}
    assert fold(width=16, depth=None) == {"backbone": Backbone(width=16)}
    assert fold(init_from=None, freeze_epochs=0, lower_lr=1.0) == {"init_from": None}  # unused, at their defaults
    with pytest.raises(ParameterError, match=r"freeze_epochs=2 is a setting of init_from \(FineTuning\), which is None"):
        fold(freeze_epochs=2)
    with pytest.raises(ParameterError, match="validation=0.2 and validation_fraction=0.1 say the same thing"):
        fold(validation=0.2, validation_fraction=0.1)
    with pytest.raises(ParameterError, match="weights='w.pth' is for a pretrained backbone"):
        fold(weights="w.pth")
    with pytest.raises(ParameterError, match="they shape the 'resnet' backbone"):
        fold(backbone="mobilenet_v2", width=8)
    with pytest.raises(ParameterError, match="'fraction' parameter of Validation must be above 0 for patience=3"):
        fold_flat_params(type(e2elab.make_pipeline("speech", "end-to-end")), {"patience": 3})  # speech holds none out


@pytest.mark.parametrize("params", [{}, {"init_from": FineTuning("m", lower_lr=0.1), "validation": Validation(0.2, 4),
                                         "backbone": Backbone("mobilenet_v2", dropout=0.3)}])
def test_flat_params_spell_settings_out_and_fold_back(params):
    model = EndToEndImageClassifier(**params)
    flat = flat_params(model)
    assert {"init_from", "freeze_epochs", "lower_lr", "validation_fraction", "patience", "backbone", "width", "depth",
            "dropout", "weights"} <= set(flat)
    assert not {"validation"} & set(flat)
    assert fold_flat_params(EndToEndImageClassifier, flat) == model.get_params()
