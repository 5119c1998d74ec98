"""e2elab compare TASK --data D --out RUN: every pipeline on the same splits and seeds, side by side."""

from __future__ import annotations

from ..errors import E2elabError
from ._arg_types import int_at_least, open_fraction
from ._common import add_data_arguments, add_language_arguments, add_task_argument, command_data
from ._grid_args import add_grid_arguments, check_pipeline_params, parse_kind_params, parse_pipelines, parse_seeds
from ._run_folder import claim_run_folder

NAME = "compare"
HELP = "train every pipeline of a task on the same splits and seeds; table, paired tests, RUN/results.json"
ORDER = 40
# What a comparison writes into RUN, and so what --overwrite discards.
OUTPUTS = ("cells", "experiment.json", "results.json", "confusion_*.json", "report.html")


def add_arguments(parser):
    add_task_argument(parser)
    add_data_arguments(parser)
    add_language_arguments(parser)
    parser.add_argument("--out", required=True, metavar="RUN",
                        help="run folder: results.json, confusion_<pipeline>.json, cells/ (a rerun resumes)")
    parser.add_argument("--folds", type=int_at_least(2), default=6,
                        help="speech: folds of whole speakers (as many as speakers = leave-one-speaker-out; default 6)")
    parser.add_argument("--test-size", type=open_fraction, default=0.25,
                        help="images without a test split of their own: the stratified held-out fraction")
    add_grid_arguments(parser)


def run(args) -> int:
    from ..experiments.compare import compare, format_table

    pipelines, params, seeds = parse_pipelines(args.pipelines), parse_kind_params(args.param), parse_seeds(args.seeds)
    check_pipeline_params(args.task, pipelines, params)
    claim_run_folder(args.out, OUTPUTS, overwrite=args.overwrite, reuse=True)
    try:
        summary = compare(args.task, command_data(args), args.out, pipelines=pipelines, seeds=seeds, folds=args.folds, params=params,
                          test_size=args.test_size, jobs=args.jobs, backend=args.backend,
                          progress=not args.no_progress, on_error=args.on_error)
    except (ValueError, ImportError) as err:  # bad settings, or a backend whose package is missing
        raise E2elabError(str(err)) from None
    print(format_table(summary))
    print(f"wrote {args.out}/results.json and confusion_<pipeline>.json")
    return 0
