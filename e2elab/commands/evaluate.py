"""e2elab evaluate MODEL --data D: score a saved model on held-out data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import DataError
from ._common import add_data_arguments, add_language_arguments, add_verify_key_argument, load_command_data, verify_key

NAME = "evaluate"
HELP = "score a saved model on a data set's held-out items"
ORDER = 21


def add_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help="a model folder written by `e2elab train` (RUN/model)")
    add_data_arguments(parser)
    add_language_arguments(parser)
    parser.add_argument("--split", default="auto", choices=("auto", "test", "all"),
                        help="auto: the items held out when MODEL was trained on this data, else the data set's test split, else all items")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_verify_key_argument(parser)


def held_out_indices(model_dir: Path, dataset, data_name: str, split: str):
    """Which items to score, and a word on why."""
    if split == "all":
        return np.arange(len(dataset)), "all items"
    train_record = model_dir.parent / "train.json"
    if split == "auto" and train_record.exists():
        record = json.loads(train_record.read_text())
        if record.get("data") == data_name:
            from ..data.splits import train_test_indices

            _, test_idx = train_test_indices(dataset, test_size=record.get("test_size", 0.25), seed=record.get("seed", 0))
            return test_idx, "the items held out in training"
    if "test" in dataset.splits:
        return np.flatnonzero(dataset.split == "test"), "the data set's test split"
    if split == "test":
        from ..errors import E2elabError

        raise E2elabError(f"{data_name} has no test split; use --split all to score every item")
    return np.arange(len(dataset)), "all items (the data set has no test split)"


def run(args) -> int:
    from ..experiments.runs import drop_unreadable, group_kwargs
    from ..io import load
    from ..tasks import get_task

    model = load(args.model, verify_key=verify_key(args))
    # A translation model reads the data in its own language pair unless told otherwise.
    model_languages = getattr(model, "languages_", None)
    dataset = load_command_data(args, model.task, model_languages)
    data_languages = getattr(dataset, "languages", None)
    if model_languages and data_languages and tuple(data_languages) != tuple(model_languages):
        raise DataError(args.data, f"is read as {' -> '.join(data_languages)}, but {args.model} translates "
                                   f"{' -> '.join(model_languages)}")
    indices, why = held_out_indices(Path(args.model), dataset, args.data, args.split)
    test = dataset.subset(indices)
    skipped = []
    if args.on_error == "skip":
        test, skipped = drop_unreadable(test, "test")
    score = model.score(test.X, test.y, **group_kwargs(model.score, test.groups))
    task = get_task(model.task)
    metric = task.metric
    result = {"model": args.model, "data": args.data, "items": len(test), "skipped": len(skipped), "scored": why,
              "metric": metric, "value": task.error_from_score(score)}
    if args.json:
        print(json.dumps(result))
    else:
        skipped_text = f", {len(skipped)} unreadable skipped" if skipped else ""
        print(f"{metric} = {result['value']:.4f} on {len(test)} items ({why}{skipped_text})")
    return 0
