"""e2elab train TASK --data D --pipeline KIND --out RUN: fit one pipeline, save it, score it on held-out data."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from .. import __version__
from ..errors import RunFolderError
from ._arg_types import open_fraction
from ._common import (METRIC_NAMES, add_data_arguments, build_pipeline, error_metric, group_kwargs, load_task_data, parse_params,
                      read_key_file, write_json)
from ._inputs import drop_unreadable
from ._run_folder import check_model_folder, claim_run_folder

NAME = "train"
HELP = "train one pipeline on a data set and save it to RUN/model"
ORDER = 20
# What a training run writes into RUN, and so what --overwrite discards.
OUTPUTS = ("checkpoints", "model", "train.json", "report.html")
# train.json entries a resumed run must share with the record of the run it continues.
RESUMED_SETTINGS = ("task", "pipeline", "data", "seed", "test_size")


def add_arguments(parser):
    parser.add_argument("task", choices=("speech", "image"))
    add_data_arguments(parser)
    parser.add_argument("--pipeline", default="end-to-end", choices=("end-to-end", "traditional"))
    parser.add_argument("--out", required=True, metavar="RUN", help="run folder; the model is saved to RUN/model")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--overwrite", action="store_true",
                          help="discard what an earlier run left in RUN (checkpoints, metrics, train.json, model)")
    existing.add_argument("--resume", action="store_true",
                          help="continue the run in RUN from its last checkpoint (the same data, parameters and seed)")
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", help="a pipeline parameter (repeatable), e.g. --param epochs=20")
    parser.add_argument("--seed", type=int, default=0, help="fixes data order, initialisation and the split")
    parser.add_argument("--test-size", type=open_fraction, default=0.25,
                        help="held-out fraction when the data set has no test split of its own (speech holds whole speakers out)")
    parser.add_argument("--sign-key-file", metavar="FILE",
                        help="sign the saved model with the key in FILE (HMAC), so that loading can verify it")


def run(args) -> int:
    from ..data.splits import describe_holdout, train_test_indices
    from ..io import save

    run_dir = Path(args.out)
    sign_key = read_key_file(args.sign_key_file) if args.sign_key_file else None
    model = build_pipeline(args.task, args.pipeline, parse_params(args.param), args.seed, run_dir, args.on_error)
    check_model_folder(run_dir / "model")
    claim_run_folder(run_dir, OUTPUTS, overwrite=args.overwrite, reuse=args.resume)
    if args.resume:
        check_same_settings(run_dir, args, model)

    dataset = load_task_data(args.data, args.task, args.on_error)
    train_idx, test_idx = train_test_indices(dataset, test_size=args.test_size, seed=args.seed)
    train, test = dataset.subset(train_idx), dataset.subset(test_idx)
    held_out = describe_holdout(dataset, test_size=args.test_size)
    print(f"training {args.task}/{args.pipeline} on {len(train)} items of {args.data} ({len(test)} held out: {held_out})")

    start = time.perf_counter()
    model.fit(train.X, train.y, **group_kwargs(model.fit, train.groups))
    train_seconds = time.perf_counter() - start
    skipped = list(getattr(model, "skipped_", []))
    if skipped:
        print(f"skipped {len(skipped)} unusable training item(s), e.g. {skipped[0][0]}: {skipped[0][1]}")
    model_dir = save(model, run_dir / "model", sign_key=sign_key)  # atomic: a failed save leaves the old model

    if args.on_error == "skip":
        test, _ = drop_unreadable(test, args.task, "held-out")
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
        "held_out": held_out,
        "n_skipped": len(skipped),
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


def check_same_settings(run_dir: Path, args, model) -> None:
    """With --resume, refuse a RUN whose finished run (train.json) had other settings.

    An interrupted run has no train.json yet; its checkpoint carries the same check (the training
    loop compares the run's key with the checkpoint's).
    """
    record_path = run_dir / "train.json"
    if not record_path.exists():
        return
    try:
        record = json.loads(record_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise RunFolderError(f"{record_path}: cannot read the record of the earlier run ({err}); "
                             "use --overwrite to discard it") from None
    here = {"task": args.task, "pipeline": args.pipeline, "data": args.data, "seed": args.seed, "test_size": args.test_size}
    differing = [key for key in RESUMED_SETTINGS if record.get(key) != here[key]]
    params = {k: v for k, v in _plain(model.get_params(deep=False)).items() if k != "checkpoint_dir"}
    saved = {k: v for k, v in record.get("params", {}).items() if k != "checkpoint_dir"}
    differing += sorted(k for k in params.keys() | saved.keys() if params.get(k) != saved.get(k))
    if differing:
        raise RunFolderError(f"{run_dir} holds another run (its {', '.join(dict.fromkeys(differing))} differ from this one's); "
                             "use a new --out, or --overwrite to discard it")


def _plain(value):
    from ..io import _jsonable

    return _jsonable(value, "summary")
