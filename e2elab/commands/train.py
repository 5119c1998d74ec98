"""e2elab train TASK --data D --pipeline KIND --out RUN: fit one pipeline, save it, score it on held-out data."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import RunFolderError
from ..tasks import get_task
from ._arg_types import open_fraction
from ._common import (add_data_arguments, add_language_arguments, add_task_argument, load_command_data, parse_params,
                      read_key_file)
from ._run_folder import check_model_folder, claim_run_folder

NAME = "train"
HELP = "train one pipeline on a data set and save it to RUN/model"
ORDER = 20
# What a training run writes into RUN, and so what --overwrite discards.
OUTPUTS = ("checkpoints", "model", "train.json", "report.html")
# train.json entries a resumed run must share with the record of the run it continues.
RESUMED_SETTINGS = ("task", "pipeline", "data", "languages", "seed", "test_size")


def add_arguments(parser):
    add_task_argument(parser)
    add_data_arguments(parser)
    add_language_arguments(parser)
    parser.add_argument("--pipeline", default="end-to-end", metavar="KIND",
                        help="which of the task's pipelines: end-to-end (default) or traditional")
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
    from ..experiments.runs import build_pipeline
    from ..experiments.training import train_save_score

    run_dir = Path(args.out)
    sign_key = read_key_file(args.sign_key_file) if args.sign_key_file else None
    model = build_pipeline(args.task, args.pipeline, parse_params(args.param), args.seed, run_dir, args.on_error)
    check_model_folder(run_dir / "model")
    claim_run_folder(run_dir, OUTPUTS, overwrite=args.overwrite, reuse=args.resume)
    dataset = load_command_data(args, args.task)
    if args.resume:
        check_same_settings(run_dir, args, model, getattr(dataset, "languages", None))

    summary = train_save_score(model, dataset, run_dir, data_name=args.data, seed=args.seed, test_size=args.test_size,
                               on_error=args.on_error, sign_key=sign_key)
    print(f"{get_task(model.task).error_name} on {summary['n_test']} held-out items: {summary['value']:.4f}  "
          f"(trained in {summary['train_seconds']:.1f} s)")
    print(f"model saved to {summary['model']}")
    return 0


def check_same_settings(run_dir: Path, args, model, languages: tuple[str, str] | None = None) -> None:
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
    here = {"task": args.task, "pipeline": args.pipeline, "data": args.data, "seed": args.seed, "test_size": args.test_size,
            "languages": list(languages) if languages else None}
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
