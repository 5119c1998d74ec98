"""e2elab predict MODEL INPUT...: the model's answer for each input (a transcript, a class, a translation, ...)."""

from __future__ import annotations

import json
import time

import numpy as np

from ._common import add_verify_key_argument, verify_key
from ._inputs import command_line_items

NAME = "predict"
HELP = "the model's answers for input files (or sentences, for a translation model)"
ORDER = 22


def add_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help="a model folder written by `e2elab train` (RUN/model)")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files of the model's kind (audio, images), or sentences and .txt files for a translation model")
    parser.add_argument("--json", action="store_true", help="one JSON object per input with timings and details")
    add_verify_key_argument(parser)


def run(args) -> int:
    from ..io import load

    model = load(args.model, verify_key=verify_key(args))
    inputs, names = command_line_items(args.inputs, model, args.model)
    names = names if names is not None else inputs
    items = np.empty(len(inputs), dtype=object)
    items[:] = inputs
    if not args.json:
        for name, answer in zip(names, model.predict(items)):
            print(f"{name}\t{answer}")
        return 0
    details = getattr(model, "predict_details", None)
    for i, path in enumerate(names):
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
