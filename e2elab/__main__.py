"""``python -m e2elab``: the same entry point as the ``e2elab`` command, and what ``torchrun -m e2elab`` runs.

Under torchrun the processes first join their process group, so that the training loop runs
DistributedDataParallel. Rank 0 owns the run folder. The other ranks run the same command in step
with it (every rank must take part in every training step) but write their copy of its outputs
(model, train.json) into a scratch folder of their own, deleted at exit: one run, one model, and
no two processes writing one file.
"""

import contextlib
import os
import sys
import tempfile

from .cli import main
from .nn import distributed


def main_as_rank(argv: list[str]) -> int:
    """Run the command `argv` as one rank of the torchrun job this process belongs to."""
    try:
        distributed.join_process_group()
    except distributed.ProcessGroupError as err:
        print(f"e2elab: error: {err}", file=sys.stderr)
        return 1
    try:
        if distributed.is_main_process() or not _names_an_output_folder(argv):
            return main(argv)
        with tempfile.TemporaryDirectory(prefix=f"e2elab-rank{distributed.rank()}-") as scratch, \
                open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
            return main([*argv, "--out", scratch])  # the last --out given is the one argparse keeps
    finally:
        distributed.leave_process_group()


def _names_an_output_folder(argv: list[str]) -> bool:
    return any(arg == "--out" or arg.startswith("--out=") for arg in argv)


if __name__ == "__main__":
    sys.exit(main_as_rank(sys.argv[1:]) if distributed.launched_by_torchrun() else main())
