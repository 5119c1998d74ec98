"""Speed-up of a learning-curve grid run with `--jobs 2` against `--jobs 1`, same grid, same run.

Trains the traditional pipeline over a ladder of training-set sizes and seeds twice, once with one
joblib worker and once with two (loky processes), each into a fresh folder so that nothing is
resumed, and prints one JSON line: both wall times, the speed-up, and whether both runs gave the
same errors (the grid is deterministic given its seeds).

    E2ELAB_DATA_DIR=... python benchmarks/bench_curve_jobs.py --task image --data usps \
        --sizes 100,200,400,800 --seeds 0,1
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="image", choices=("image", "speech"))
    parser.add_argument("--data", default="usps")
    parser.add_argument("--pipeline", default="traditional")
    parser.add_argument("--sizes", default="100,200,400,800")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--jobs", type=int, default=2, help="workers of the parallel run (against 1)")
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", help="a parameter of the pipeline")
    args = parser.parse_args()

    from e2elab.commands._common import parse_params
    from e2elab.experiments import curve
    from e2elab.experiments.curve import parse_sizes

    seeds = [int(s) for s in args.seeds.split(",")]
    sizes = parse_sizes(args.sizes)
    params = {args.pipeline: parse_params(args.param)}
    seconds, errors = {}, {}
    for jobs in (1, args.jobs):
        with tempfile.TemporaryDirectory(prefix=f"bench-curve-jobs{jobs}-") as out:
            start = time.perf_counter()
            summary = curve(args.task, args.data, out, pipelines=[args.pipeline], sizes=sizes, seeds=seeds,
                            params=params, n_boot=50, jobs=jobs, backend="loky", progress=False)
            seconds[jobs] = time.perf_counter() - start
            errors[jobs] = [run for p in summary["pipelines"][args.pipeline]["points"] for run in p["runs"]]
    print(json.dumps({
        "benchmark": "curve_jobs",
        "task": args.task, "data": args.data, "pipeline": args.pipeline, "sizes": summary["sizes"], "seeds": seeds,
        "cells": len(errors[1]),
        "seconds_jobs1": round(seconds[1], 2), f"seconds_jobs{args.jobs}": round(seconds[args.jobs], 2),
        "speedup": round(seconds[1] / seconds[args.jobs], 3),
        "same_errors": errors[1] == errors[args.jobs],
        "max_error_difference": max(abs(a - b) for a, b in zip(errors[1], errors[args.jobs])),
        "cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
