"""JSON schemas of `results.json` (compare) and `curve.json` (curve), and a validator.

The schemas are the contract of DESIGN.md: the keys listed there are required; further keys
(paired tests, bootstrap intervals) are allowed. The measures a task reports beside its error
(accuracy; AP@0.5 and COCO's AP; BLEU and chrF), whatever their names, are checked too: in
results.json each is a summary like the error's, or a text (sacreBLEU's signature), and in
curve.json each point's measures are numbers. The task and metric must
be those of a registered task, so :func:`results_schema` and :func:`curve_schema` build the
schemas from the task registry as it stands when they are called. `validate` uses the
`jsonschema` package when it is installed and otherwise a small validator that understands the
subset of JSON Schema used here (type, properties, required, items, enum, minimum, minItems,
maxItems, additionalProperties as a schema).
"""

from __future__ import annotations

NUMBER = {"type": "number"}
NUMBER_OR_NULL = {"type": ["number", "null"]}
INTERVAL = {"type": "array", "items": NUMBER, "minItems": 2, "maxItems": 2}
INTERVAL_OR_NULL = {"type": ["array", "null"], "items": NUMBER, "minItems": 2, "maxItems": 2}

SUMMARY = {
    "type": "object",
    "required": ["mean", "ci95", "runs"],
    "properties": {"mean": NUMBER_OR_NULL, "ci95": INTERVAL_OR_NULL, "runs": {"type": "array", "items": NUMBER}},
}

def _task_and_metric() -> tuple[dict, dict]:
    """The "task" and "metric" properties: enums of the registered tasks' names and metrics."""
    from ..tasks import tasks

    registered = tasks()
    return ({"type": "string", "enum": [t.name for t in registered]},
            {"type": "string", "enum": sorted({t.metric for t in registered})})


# The names of the task's measures beside its error, as listed at the top of a result file.
MEASURES = {"type": "array", "items": {"type": "string"}}

POINT = {
    "type": "object",
    "required": ["n", "mean", "ci95", "runs"],
    "properties": {"n": NUMBER, "mean": NUMBER, "ci95": INTERVAL_OR_NULL, "runs": {"type": "array", "items": NUMBER}},
    "additionalProperties": NUMBER,  # n_items, train_seconds and the task's measures, averaged over the seeds
}

LAW = {
    "type": "object",
    "required": ["form", "a", "b", "c"],
    "properties": {"form": {"type": "string"}, "a": NUMBER, "b": NUMBER, "c": NUMBER},
}

CROSSING = {
    "type": "object",
    "required": ["n", "ci95"],
    "properties": {"n": NUMBER, "ci95": INTERVAL_OR_NULL},
}

# A crossover measured between two sizes, where the order of the mean curves changes.
MEASURED_CROSSING = {
    "type": "object",
    "required": ["between", "n"],
    "properties": {"between": INTERVAL, "n": NUMBER, "end_to_end": {"type": "string", "enum": ["below", "above"]}},
}

# How well a law follows the mean errors, in log space (e2elab.experiments.laws.goodness_of_fit).
FIT = {
    "type": "object",
    "required": ["r2_log", "residuals_log", "n_sizes", "too_few_points"],
    "properties": {"r2_log": NUMBER_OR_NULL, "residuals_log": {"type": "array", "items": NUMBER},
                   "max_factor": NUMBER, "n_sizes": {"type": "integer", "minimum": 1},
                   "too_few_points": {"type": "boolean"}},
}

EXTRAPOLATION_CHECK = {
    "type": "object",
    "required": ["n", "predicted", "observed"],
    "properties": {"n": NUMBER, "predicted": NUMBER, "observed": NUMBER, "predicted_ci95": INTERVAL_OR_NULL,
                   "observed_ci95": INTERVAL_OR_NULL, "factor": NUMBER, "failed": {"type": "boolean"},
                   "why": {"type": ["string", "null"]}},
}

# What a remedy (an entry with parameters of its own) saves against the plain pipeline of its kind.
REMEDY = {
    "type": "object",
    "required": ["baseline", "n_needed", "saving_factor"],
    "properties": {"baseline": {"type": ["string", "null"]}, "n_needed": NUMBER_OR_NULL,
                   "n_needed_measured": NUMBER_OR_NULL, "saving_factor": NUMBER_OR_NULL,
                   "saving_factor_ci95": INTERVAL_OR_NULL, "saving_factor_measured": NUMBER_OR_NULL,
                   "pretraining_seconds": NUMBER_OR_NULL, "fine_tuning_seconds": NUMBER,
                   "baseline_train_seconds": NUMBER_OR_NULL},
}


def results_schema() -> dict:
    """The schema of `compare`'s results.json."""
    task, metric = _task_and_metric()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "e2elab compare results.json",
        "type": "object",
        "required": ["task", "data", "split", "metric", "lower_is_better", "pipelines"],
        "properties": {
            "task": task,
            "data": {"type": "string"},
            "split": {
                "type": "object",
                "required": ["kind", "folds"],
                "properties": {"kind": {"type": "string"}, "folds": {"type": "integer", "minimum": 1}},
            },
            "metric": metric,
            "lower_is_better": {"type": "boolean"},
            "measures": MEASURES,
            "pipelines": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["metric", "train_seconds", "predict_seconds_per_item", "n_parameters", "model_bytes"],
                    "properties": {
                        "metric": SUMMARY,
                        "train_seconds": NUMBER,
                        "predict_seconds_per_item": NUMBER,
                        "n_parameters": {"type": ["integer", "null"], "minimum": 0},
                        "model_bytes": {"type": ["integer", "null"], "minimum": 0},
                        "n_train": NUMBER,
                        "n_test": NUMBER,
                        "run_ids": {"type": "array", "items": {"type": "string"}},
                    },
                    # the task's measures (accuracy, ap50, bleu...) and the texts saying how they were computed
                    "additionalProperties": {"anyOf": [SUMMARY, {"type": "string"}]},
                },
            },
            "paired_tests": {"type": "array", "items": {"type": "object", "required": ["a", "b", "n_pairs"]}},
        },
    }


def curve_schema() -> dict:
    """The schema of `curve`'s curve.json."""
    task, metric = _task_and_metric()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "e2elab curve curve.json",
        "type": "object",
        "required": ["task", "data", "metric", "pipelines", "crossover"],
        "properties": {
            "task": task,
            "data": {"type": "string"},
            "metric": metric,
            "measures": MEASURES,
            "pipelines": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["points", "law", "extrapolation_check"],
                    "properties": {
                        # the pipeline entry: its kind and its own parameters (its label is the key)
                        "kind": {"type": "string"},
                        "params": {"type": "object"},
                        "points": {"type": "array", "items": POINT, "minItems": 1},
                        "law": {"anyOf": [LAW, {"type": "null"}]},
                        "fit": {"anyOf": [FIT, {"type": "null"}]},
                        "extrapolation_check": {"anyOf": [EXTRAPOLATION_CHECK, {"type": "null"}]},
                        "pretraining": {"anyOf": [{"type": "object", "required": ["seconds"],
                                                   "properties": {"seconds": NUMBER}}, {"type": "null"}]},
                    },
                },
            },
            "crossover": {"anyOf": [CROSSING, {"type": "null"}]},
            "crossover_observed": {"anyOf": [MEASURED_CROSSING, {"type": "null"}]},
            "crossover_explanation": {"type": "string"},
            "crossovers": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["crossover", "observed", "measured_crossings", "explanation"],
                    "properties": {"crossover": {"anyOf": [CROSSING, {"type": "null"}]},
                                   "observed": {"anyOf": [MEASURED_CROSSING, {"type": "null"}]},
                                   "measured_crossings": {"type": "array", "items": MEASURED_CROSSING},
                                   "explanation": {"type": "string"}},
                },
            },
            "target": {
                "anyOf": [
                    {"type": "object", "required": ["error", "n_needed"],
                     "properties": {"error": NUMBER, "chosen": {"type": ["string", "null"]},
                                    "n_needed": {"type": "object", "additionalProperties": NUMBER_OR_NULL},
                                    "n_needed_measured": {"type": "object", "additionalProperties": NUMBER_OR_NULL}}},
                    {"type": "null"},
                ]
            },
            "remedies": {"type": "object", "additionalProperties": REMEDY},
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
    }


class SchemaError(ValueError):
    """A document that does not match its schema; the message gives the JSON path."""


def validate(document, schema) -> None:
    """Raise SchemaError if `document` does not match `schema`."""
    try:
        import jsonschema
    except ImportError:
        _check(document, schema, "$")
        return
    try:
        jsonschema.validate(document, schema)
    except jsonschema.ValidationError as err:
        path = "$" + "".join(f"[{p!r}]" for p in err.absolute_path)
        raise SchemaError(f"{path}: {err.message}") from None


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def _check(value, schema: dict, path: str) -> None:
    """The small validator used when `jsonschema` is not installed."""
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                _check(value, option, path)
                return
            except SchemaError as err:
                errors.append(str(err))
        raise SchemaError(f"{path}: matches none of the allowed forms ({'; '.join(errors)})")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            raise SchemaError(f"{path}: {value!r} is not of type {' or '.join(types)}")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(f"{path}: {value!r} is not one of {schema['enum']}")
    if "minimum" in schema and _TYPES["number"](value) and value < schema["minimum"]:
        raise SchemaError(f"{path}: {value!r} is less than the minimum of {schema['minimum']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                raise SchemaError(f"{path}: {key!r} is a required property")
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                _check(item, properties[key], f"{path}[{key!r}]")
            elif isinstance(schema.get("additionalProperties"), dict):
                _check(item, schema["additionalProperties"], f"{path}[{key!r}]")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            raise SchemaError(f"{path}: {value!r} has fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise SchemaError(f"{path}: {value!r} has more than {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                _check(item, schema["items"], f"{path}[{i}]")
