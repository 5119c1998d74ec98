"""e2elab predict MODEL INPUT...: transcripts or classes for files."""

from __future__ import annotations

import json
import time

import numpy as np

from ._common import add_verify_key_argument, verify_key
from ._inputs import check_inputs

NAME = "predict"
HELP = "predict transcripts (speech) or classes (image) for input files"
ORDER = 22


def add_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help="a model folder written by `e2elab train` (RUN/model)")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="audio or image files")
    parser.add_argument("--json", action="store_true", help="one JSON object per input with timings and details")
    add_verify_key_argument(parser)


def run(args) -> int:
    from ..io import load

    model = load(args.model, verify_key=verify_key(args))
    check_inputs(args.inputs, model, args.model)
    items = np.array(args.inputs, dtype=object)
    if not args.json:
        for path, answer in zip(args.inputs, model.predict(items)):
            print(f"{path}\t{answer}")
        return 0
    details = getattr(model, "predict_details", None)
    for i, path in enumerate(args.inputs):
        start = time.perf_counter()
        record = details(items[i:i + 1])[0] if details else {"prediction": model.predict(items[i:i + 1])[0]}
        record = {"input": path, **record, "seconds": round(time.perf_counter() - start, 4)}
        print(json.dumps(record, default=_plain))
    return 0


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
