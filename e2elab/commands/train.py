"""e2elab train TASK --data D --pipeline KIND --out RUN: fit one pipeline, save it, score it on held-out data."""

from __future__ import annotations

import platform
import time
from pathlib import Path

from .. import __version__
from ._common import (METRIC_NAMES, add_data_arguments, build_pipeline, error_metric, group_kwargs, load_task_data, parse_params,
                      write_json)

NAME = "train"
HELP = "train one pipeline on a data set and save it to RUN/model"
ORDER = 20


def add_arguments(parser):
    parser.add_argument("task", choices=("speech", "image"))
    add_data_arguments(parser)
    parser.add_argument("--pipeline", default="end-to-end", choices=("end-to-end", "traditional"))
    parser.add_argument("--out", required=True, metavar="RUN", help="run folder; the model is saved to RUN/model")
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", help="a pipeline parameter (repeatable), e.g. --param epochs=20")
    parser.add_argument("--seed", type=int, default=0, help="fixes data order, initialisation and the split")
    parser.add_argument("--test-size", type=float, default=0.25,
                        help="held-out fraction when the data set has no test split of its own (speech holds whole speakers out)")


def run(args) -> int:
    from ..data.splits import train_test_indices
    from ..io import save

    run_dir = Path(args.out)
    dataset = load_task_data(args.data, args.task, args.on_error)
    train_idx, test_idx = train_test_indices(dataset, test_size=args.test_size, seed=args.seed)
    train, test = dataset.subset(train_idx), dataset.subset(test_idx)
    model = build_pipeline(args.task, args.pipeline, parse_params(args.param), args.seed, run_dir, args.on_error)
    print(f"training {args.task}/{args.pipeline} on {len(train)} items of {args.data} ({len(test)} held out)")

    start = time.perf_counter()
    model.fit(train.X, train.y, **group_kwargs(model.fit, train.groups))
    train_seconds = time.perf_counter() - start
    model_dir = save(model, run_dir / "model")

    start = time.perf_counter()
    score = model.score(test.X, test.y, **group_kwargs(model.score, test.groups)) if len(test) else float("nan")
    predict_seconds = time.perf_counter() - start
    metric = METRIC_NAMES[args.task]
    summary = {
        "task": args.task,
        "data": args.data,
        "pipeline": args.pipeline,
        "params": model.get_params(deep=False),
        "seed": args.seed,
        "test_size": args.test_size,
        "n_train": len(train),
        "n_test": len(test),
        "metric": metric,
        "value": error_metric(args.task, score),
        "train_seconds": round(train_seconds, 2),
        "predict_seconds_per_item": round(predict_seconds / max(len(test), 1), 5),
        "model": str(model_dir),
        "versions": {"e2elab": __version__, "python": platform.python_version()},
    }
    write_json(run_dir / "train.json", _plain(summary))
    print(f"{metric} on {len(test)} held-out items: {summary['value']:.4f}  (trained in {train_seconds:.1f} s)")
    print(f"model saved to {model_dir}")
    return 0


def _plain(value):
    from ..io import _jsonable

    return _jsonable(value, "summary")
