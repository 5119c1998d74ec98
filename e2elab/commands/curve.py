"""e2elab curve TASK --data D --out RUN: learning curves, fitted laws and how well they fit, crossovers,
and the labelled data each remedy for small data saves (--pipelines end-to-end,end-to-end:init_from=M)."""

from __future__ import annotations

from ..errors import E2elabError, ParameterError
from ._arg_types import open_fraction, positive_int
from ._common import add_data_arguments, add_language_arguments, add_task_argument, command_data
from ._grid_args import add_grid_arguments, parse_kind_params, parse_pipelines, parse_seeds
from ._run_folder import claim_run_folder

NAME = "curve"
HELP = "learning curves of every pipeline of a task: laws, crossover, data needed; RUN/curve.json and curve.png"
ORDER = 50
# What a learning-curve run writes into RUN, and so what --overwrite discards.
OUTPUTS = ("cells", "experiment.json", "curve.json", "curve.png", "report.html")


def add_arguments(parser):
    parser.epilog = ("--pipelines takes entries kind[:name=value[:name=value...]], each its own curve, e.g. "
                     "traditional,end-to-end,end-to-end:init_from=MODEL_DIR,end-to-end:backbone=mobilenet_v2; "
                     "--param KIND.name=value applies to every entry of that kind")
    add_task_argument(parser)
    add_data_arguments(parser)
    add_language_arguments(parser)
    parser.add_argument("--out", required=True, metavar="RUN", help="run folder: curve.json, curve.png, cells/ (a rerun resumes)")
    parser.add_argument("--sizes", metavar="SIZES",
                        help="comma-separated training-set sizes: whole numbers are absolute (images: items, speech: speakers), "
                             "numbers with a point up to 1 are fractions of the training pool, e.g. 50,100,500,0.5,1.0")
    parser.add_argument("--target-error", type=float, metavar="ERROR",
                        help="report the training-set size each pipeline needs for this error, and the factor of labelled data "
                             "each remedy (a pipeline entry with parameters, e.g. end-to-end:init_from=MODEL_DIR) saves against "
                             "the plain pipeline; without it, remedies are measured at the plain pipeline's error with the most data")
    parser.add_argument("--test-size", type=open_fraction, default=0.25,
                        help="images without a test split of their own: the stratified held-out fraction")
    parser.add_argument("--test-speakers", type=positive_int, default=1, help="speech: how many speakers form the fixed test set")
    parser.add_argument("--min-updates", type=positive_int, metavar="U",
                        help="pipelines trained by epochs get at least U gradient updates at every size (their epochs are raised "
                             "for small training sets), so that small sizes are not simply under-trained")
    parser.add_argument("--bootstrap", type=positive_int, default=500, metavar="B", help="bootstrap resamples for the intervals of the laws")
    add_grid_arguments(parser)


def run(args) -> int:
    from ..experiments.curve import curve, parse_sizes
    from ..experiments.curve_table import format_table

    pipelines, params, seeds = parse_pipelines(args.pipelines), parse_kind_params(args.param), parse_seeds(args.seeds)
    try:
        sizes = parse_sizes(args.sizes) if args.sizes else None
    except ValueError as err:
        raise ParameterError(str(err)) from None
    check_entries(args.task, pipelines, params)
    claim_run_folder(args.out, OUTPUTS, overwrite=args.overwrite, reuse=True)
    try:
        summary = curve(args.task, command_data(args), args.out, pipelines=pipelines, sizes=sizes, seeds=seeds, params=params,
                        test_size=args.test_size, test_groups=args.test_speakers, target=args.target_error, n_boot=args.bootstrap,
                        min_updates=args.min_updates, jobs=args.jobs, backend=args.backend,
                        progress=not args.no_progress, on_error=args.on_error)
    except (ValueError, ImportError) as err:  # bad settings, or a backend whose package is missing
        raise E2elabError(str(err)) from None
    print(format_table(summary))
    print(f"wrote {args.out}/curve.json and curve.png")
    return 0


def check_entries(task: str, pipelines: list[str] | None, params: dict[str, dict]) -> None:
    """Build the pipeline of every entry (``kind[:name=value...]``) once with its parameters, so that
    a bad entry or value fails in a second, before any data is read."""
    from ..experiments.entries import resolve_entries
    from ..experiments.runs import build_pipeline

    try:
        entries = resolve_entries(task, pipelines, params)
    except ValueError as err:  # a malformed entry, an unknown pipeline, parameters for a kind not run
        raise ParameterError(str(err)) from None
    for entry in entries:
        build_pipeline(task, entry.kind, entry.params(params), seed=0)
