"""Every pipeline parameter is checked for type and range before fit reads any data."""

import inspect

import numpy as np
import pytest
import torch
from sklearn.base import clone

import e2elab
from e2elab.errors import ParameterError
from e2elab.params import DEVICE, Choice, Int, IntOptions, Real, validate_constraints

PIPELINES = [("speech", "end-to-end"), ("speech", "traditional"), ("image", "end-to-end"), ("image", "traditional")]
MISSING = {"speech": ["no/such/clip.wav", "no/such/other.wav"], "image": ["no/such/image.png", "no/such/other.png"]}

BAD_VALUES = {
    ("speech", "end-to-end"): [("epochs", "abc"), ("epochs", 1.5), ("epochs", True), ("lr", "abc"), ("lr", 0),
                               ("batch_size", 0), ("validation_fraction", 1.5), ("validation_fraction", 1.0),
                               ("device", "gpu"), ("device", "cuda:x"), ("decoder", "beamsearch"), ("on_error", "ignore"),
                               ("max_seconds", 0), ("num_threads", 0), ("dropout", 1.0), ("words", "one two"),
                               ("normalise", "speaker"), ("seed", -1), ("verbose", "yes"), ("patience", 0)],
    ("speech", "traditional"): [("n_states", 0), ("n_mixtures", True), ("cmvn", "global"), ("var_floor", 0),
                                ("beam", 0), ("n_jobs", 0), ("on_error", "ignore"), ("max_seconds", -1.0),
                                ("lexicon", 5), ("sample_rate", "16k"), ("training", "em"), ("seed", 0.5)],
    ("image", "end-to-end"): [("epochs", "abc"), ("epochs", True), ("lr", "abc"), ("batch_size", 0),
                              ("validation_fraction", 1.5), ("device", "gpu"), ("channels", 2), ("channels", True),
                              ("mix", "blend"), ("augment", "heavy"), ("max_pixels", 0), ("input_size", 4),
                              ("flip", "yes"), ("optimizer", "adam"), ("label_smoothing", 1.0), ("num_workers", -1)],
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
