"""Command-line arguments shared by `e2elab compare` and `e2elab curve`."""

from __future__ import annotations

import argparse
import re
from dataclasses import replace

from ..errors import ParameterError
from ..experiments.backends import BACKENDS, GridBackend
from ._arg_types import jobs_count
from ._common import parse_params


def add_grid_arguments(parser) -> None:
    """--overwrite, --pipelines, --seeds, --param, --jobs, --backend, --address, --no-progress."""
    parser.add_argument("--overwrite", action="store_true",
                        help="discard the results an earlier run left in RUN (by default a rerun with the same settings "
                             "reuses the finished trainings, and one with other settings is refused)")
    parser.add_argument("--pipelines", metavar="KINDS",
                        help="comma-separated pipelines to run (default: every pipeline of the task), e.g. end-to-end,traditional")
    parser.add_argument("--seeds", default="0,1,2", metavar="SEEDS",
                        help="comma-separated seeds, or one number N for seeds 0..N-1 (default: 0,1,2)")
    parser.add_argument("--param", action="append", metavar="KIND.KEY=VALUE",
                        help="a parameter of one pipeline (repeatable), e.g. --param end-to-end.epochs=20")
    parser.add_argument("--jobs", type=jobs_count, default=1, metavar="N",
                        help="trainings run at once (joblib n_jobs; -1 for every core)")
    parser.add_argument("--backend", choices=BACKENDS, default=GridBackend(), action=_BackendName,
                        help="where the grid's trainings run, one task each: local (processes on this machine, the default), "
                             "dask or ray (a cluster; needs the distributed extra); threading and sequential for debugging")
    parser.add_argument("--address", dest="backend", action=_BackendAddress, metavar="HOST:PORT",
                        help="the cluster for --backend dask (its scheduler, e.g. tcp://10.0.0.5:8786) or ray "
                             "(e.g. 10.0.0.5:6379); without it a local cluster is started for the grid")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


class _BackendName(argparse.Action):
    """--backend NAME: sets the name of args.backend (a GridBackend), keeping an --address given before it."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, replace(getattr(namespace, self.dest), name=values))


class _BackendAddress(argparse.Action):
    """--address HOST:PORT: sets the address of args.backend, keeping a --backend given before it."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, replace(getattr(namespace, self.dest), address=values))


def parse_seeds(text: str) -> list[int]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ParameterError(f"--seeds expects integers, got {text!r}") from None
    if len(values) == 1:
        if values[0] < 1:
            raise ParameterError(f"--seeds {values[0]}: a single number is a count of seeds 0..N-1; "
                              "give a count of at least 1, or a list such as 0,1")
        return list(range(values[0]))
    return values


def parse_pipelines(text: str | None) -> list[str] | None:
    """"traditional,end-to-end:init_from=M" -> ["traditional", "end-to-end:init_from=M"]: the pipeline
    entries, split at the commas outside brackets (a value may be a JSON list, e.g. sizes=[1,2])."""
    if not text:
        return None
    return [p.strip() for p in re.split(r",(?![^\[]*\])", text) if p.strip()]


def parse_kind_params(pairs: list[str] | None) -> dict[str, dict]:
    """["end-to-end.epochs=20"] -> {"end-to-end": {"epochs": 20}} (values read as JSON where they parse)."""
    params: dict[str, dict] = {}
    for pair in pairs or []:
        name = pair.split("=", 1)[0]
        if "." not in name:
            raise ParameterError(f"--param expects KIND.KEY=VALUE (e.g. end-to-end.epochs=20), got {pair!r}")
        kind, rest = pair.split(".", 1)
        params.setdefault(kind, {}).update(parse_params([rest]))
    return params


def check_pipeline_params(task: str, pipelines: list[str] | None, params: dict[str, dict]) -> None:
    """Build every pipeline of the grid once with its parameters, so that a bad value (or a
    parameter for a pipeline that is not run) fails in a second, before any data is read."""
    from ..experiments.compare import resolve_pipelines
    from ..experiments.runs import build_pipeline

    try:
        kinds = resolve_pipelines(task, pipelines)
    except ValueError as err:  # an unknown pipeline name; the registry's message lists the known ones
        raise ParameterError(str(err)) from None
    unknown = sorted(set(params) - set(kinds))
    if unknown:
        raise ParameterError(f"parameters given for {', '.join(unknown)}, which is not run (pipelines: {', '.join(kinds)})")
    for kind in kinds:
        build_pipeline(task, kind, params.get(kind, {}), seed=0)
