import copy

import pytest

from e2elab.experiments.schemas import SchemaError, _check, curve_schema, results_schema, validate

RESULTS = {"task": "speech", "data": "fsdd", "split": {"kind": "group", "folds": 6},
           "metric": "wer", "lower_is_better": True,
           "pipelines": {
               "end-to-end": {"metric": {"mean": 0.05, "ci95": [0.03, 0.07], "runs": [0.04, 0.06]},
                              "train_seconds": 120.5, "predict_seconds_per_item": 0.002,
                              "n_parameters": 250000, "model_bytes": 1000000},
               "traditional": {"metric": {"mean": 0.1, "ci95": None, "runs": [0.1]},
                               "train_seconds": 12.0, "predict_seconds_per_item": 0.01,
                               "n_parameters": None, "model_bytes": None}}}

CURVE = {"task": "image", "data": "usps", "metric": "error",
         "pipelines": {"end-to-end": {
             "points": [{"n": 100, "mean": 0.2, "ci95": [0.18, 0.22], "runs": [0.19, 0.21]}],
             "law": {"form": "a + b * n**-c", "a": 0.02, "b": 3.1, "c": 0.5},
             "extrapolation_check": {"n": 7291, "predicted": 0.03, "observed": 0.028}}},
         "crossover": {"n": 800, "ci95": [500, 1300]},
         "target": {"error": 0.03, "n_needed": {"end-to-end": 6000, "traditional": None}}}

# The examples of DESIGN.md validate, with both validators.
VALIDATORS = [validate, lambda doc, schema: _check(doc, schema, "$")]


@pytest.mark.parametrize("check", VALIDATORS)
def test_design_examples_validate(check):
    check(RESULTS, results_schema())
    check(CURVE, curve_schema())
    no_crossing = dict(CURVE, crossover=None, crossover_explanation="no crossover in range")
    check(no_crossing, curve_schema())


@pytest.mark.parametrize("check", VALIDATORS)
@pytest.mark.parametrize("path,value", [
    (("metric",), "accuracy"),
    (("split", "folds"), 0),
    (("pipelines", "end-to-end", "metric", "ci95"), [0.1]),
    (("pipelines", "traditional", "n_parameters"), "many"),
    (("lower_is_better",), 1),
])
def test_bad_results_are_refused(check, path, value):
    doc = copy.deepcopy(RESULTS)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(SchemaError):
        check(doc, results_schema())


@pytest.mark.parametrize("check", VALIDATORS)
def test_missing_keys_are_refused(check):
    doc = copy.deepcopy(CURVE)
    del doc["pipelines"]["end-to-end"]["law"]
    with pytest.raises(SchemaError, match="law"):
        check(doc, curve_schema())
    doc = copy.deepcopy(CURVE)
    doc["crossover"] = {"ci95": [1, 2]}
    with pytest.raises(SchemaError):
        check(doc, curve_schema())
