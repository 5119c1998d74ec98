"""e2elab predict MODEL INPUT...: the model's answer for each input (a transcript, a class, a translation, boxes, ...)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from ._common import add_verify_key_argument, verify_key
from ._inputs import command_line_items

NAME = "predict"
HELP = "the model's answers for input files (or sentences, for a translation model)"
ORDER = 22


def add_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help="a model folder written by `e2elab train` (RUN/model), or an ONNX file written by `e2elab export`")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files of the model's kind (audio, images), or sentences and .txt files for a translation model")
    parser.add_argument("--json", action="store_true", help="one JSON object per input with timings and details")
    parser.add_argument("--draw", metavar="OUT_DIR",
                        help="detection models: write each photo with its boxes and scores drawn to OUT_DIR/<name>.png")
    parser.add_argument("--draw-min-score", type=float, metavar="S",
                        help="with --draw, leave out boxes scoring below S (default: draw every box the model keeps)")
    add_verify_key_argument(parser)


def run(args) -> int:
    from ..export.loading import load_any

    model = load_any(args.model, verify_key=verify_key(args))
    check_drawable(model, args)
    inputs, names = command_line_items(args.inputs, model, args.model)
    names = names if names is not None else inputs
    items = np.empty(len(inputs), dtype=object)
    items[:] = inputs
    answers = model.predict(items) if args.draw or not args.json else None
    if not args.json:
        if getattr(model, "languages_", None):
            print("translating {} -> {}".format(*model.languages_), file=sys.stderr)
        for name, answer in zip(names, answers):
            print(f"{name}\t{answer}")
    else:
        details = getattr(model, "predict_details", None)
        for i, path in enumerate(names):
            start = time.perf_counter()
            record = details(items[i:i + 1])[0] if details else {"prediction": model.predict(items[i:i + 1])[0]}
            record = {"input": path, **record, "seconds": round(time.perf_counter() - start, 4)}
            print(json.dumps(record, default=_plain))
    if args.draw:
        written = draw_answers(list(items), answers, Path(args.draw), args.draw_min_score)
        print(f"drew {len(written)} photo(s) with their boxes in {args.draw}")
    return 0


def check_drawable(model, args) -> None:
    """Refuse --draw (and its options) for a model whose answers are not boxes, before any input is read."""
    from ..errors import ParameterError
    from ..tasks import get_task

    if args.draw_min_score is not None and not args.draw:
        raise ParameterError("--draw-min-score applies to the drawings of --draw, which was not given")
    if args.draw and get_task(model.task).target_kind != "boxes":
        raise ParameterError(f"--draw draws boxes on photos, but {args.model} is a {model.task} model, whose answers "
                             "are not boxes")


def draw_answers(items: list, answers: list[dict], out_dir: Path, min_score: float | None) -> list[Path]:
    """Each photo with its predicted boxes drawn, written as OUT_DIR/<input name>.png."""
    from ..data.image import as_image
    from ..detection.drawing import draw_boxes, save_drawing
    from ..explain.api import input_names

    return [save_drawing(out_dir / f"{name}.png", draw_boxes(as_image(item, channels=3), answer["boxes"], answer["scores"],
                                                           min_score=min_score))
            for item, answer, name in zip(items, answers, input_names(items))]


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
