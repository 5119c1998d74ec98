"""e2elab demo: the main job on built-in offline data, ending in a report; translation and detection
join it only when their data is named (they have no offline built-in data)."""

from __future__ import annotations

import os

from ..demo import OFFLINE_DATA, OPT_IN_DATA, REAL_DATA
from ._arg_types import jobs_count
from ._run_folder import claim_run_folder

NAME = "demo"
HELP = ("speech and image (translation, detection on request), both pipelines: compare, learning curves, "
        "explanations, report (built-in offline data)")
ORDER = 1
# What a demo writes into its folder (a folder per task), and so what --overwrite discards.
OUTPUTS = (*OFFLINE_DATA, *OPT_IN_DATA, "run.json", "report.html")


def add_arguments(parser):
    parser.add_argument("--out", default="runs/demo", help="run folder (default runs/demo)")
    parser.add_argument("--quick", action="store_true", help="a smaller run, about two minutes on a laptop CPU")
    for task, offline in OFFLINE_DATA.items():
        parser.add_argument(f"--{task}", default=None, metavar="DATA",
                            help=f"{task} data: {offline} (default), {REAL_DATA[task]}, or a path")
    for task, real in OPT_IN_DATA.items():
        parser.add_argument(f"--{task}", default=None, metavar="DATA",
                            help=f"add the {task} task, on {real} (in $E2ELAB_DATA_DIR) or a path (not run by default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=jobs_count, default=1, help="trainings run in parallel (joblib)")
    parser.add_argument("--overwrite", action="store_true",
                        help="discard an earlier demo in the folder (by default a rerun with the same settings reuses its "
                             "finished trainings, and one with other settings is refused)")


def run(args) -> int:
    from ..data.builtins import get_builtin
    from ..demo import run_demo

    claim_run_folder(args.out, OUTPUTS, overwrite=args.overwrite, reuse=True)
    data = {task: getattr(args, task) for task in (*OFFLINE_DATA, *OPT_IN_DATA) if getattr(args, task)}
    if os.environ.get("E2ELAB_DATA_DIR"):  # real data present: use it where the user did not choose
        for task, real in REAL_DATA.items():
            if task not in data and get_builtin(real).locate():
                data[task] = real
    run_demo(args.out, quick=args.quick, data=data, seed=args.seed, jobs=args.jobs)
    return 0
